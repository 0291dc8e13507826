// What IMAP SEARCH compares a criterion with, derived from imap-core's parsed MIME tree exactly as
// its reference matcher (imap-core/lib/search.js) does, and the index terms kept of it. TEXT looks
// at the message as Indexer.rebuild writes it back out (header block, then the body with transfer
// encodings untouched), BODY at the same without the top-level header, HEADER (and SUBJECT, FROM,
// TO, CC, BCC) at the undecoded header lines of one name; each is a substring test after
// String#toLowerCase. The terms are the maximal runs of letters and digits of that lowercased text
// (runs over 64 code units as overlapping windows), so that a word is found in exactly the messages
// whose text contains it, even in the middle of a longer word (imap/search.ts).
import type { MimeNode } from '../vendor/imap-core.js';
import { fieldNumber } from './fields.js';
import type { ImapField } from './query.js';

const NEWLINE = Buffer.from('\r\n');

/**
 * Indexer.rebuild(tree, textOnly) for a tree as parseMimeTree returns it (no external
 * attachments, no partial range): TEXT's bytes, or with `textOnly` BODY's. Checked byte for byte
 * against imap-core's own on the SpamAssassin corpus (test/unit/imap/search.test.ts).
 */
export function rebuildMessage(tree: MimeNode, textOnly: boolean): Buffer {
  const out: Buffer[] = [];
  let firstLine = true;
  let isRoot = true;
  // imap-core's `remainder`: the body of the node being written, put out before the next piece.
  let remainder: Buffer | false = false;
  const write = (chunk: Buffer): void => {
    if (chunk.length) out.push(chunk);
  };
  const emit = (data?: string, force = false): void => {
    // An empty Buffer is truthy: a node's empty body still ends the line before it.
    if (remainder || data || force) {
      if (!firstLine) write(NEWLINE);
      else firstLine = false;
      if (remainder) write(remainder);
      if (data) write(Buffer.from(data, 'binary'));
    }
    remainder = false;
  };
  const walk = (node: MimeNode): void => {
    if (!textOnly || !isRoot) emit(`${(node.header ?? []).join('\r\n')}\r\n`);
    isRoot = false;
    remainder = Buffer.isBuffer(node.body) ? node.body : false;
    if (node.boundary) emit(`--${node.boundary}`);
    const children = node.childNodes;
    if (Array.isArray(children)) {
      children.forEach((child, i) => {
        walk(child);
        if (i < children.length - 1) emit(`--${node.boundary}`);
      });
    }
    if (node.boundary) emit(`--${node.boundary}--\r\n`);
    emit();
  };
  walk(tree);
  if ((tree.lineCount ?? 0) > 1) write(NEWLINE);
  return Buffer.concat(out);
}

/**
 * TEXT is this header block followed by BODY (rebuildMessage(tree, false) equals the two
 * concatenated: the header is written first, then a line break and the body as textOnly writes it).
 */
export function headerBlock(tree: MimeNode): Buffer {
  return Buffer.from(`${(tree.header ?? []).join('\r\n')}\r\n\r\n`, 'binary');
}

/**
 * A header line as imap-core's HEADER criterion splits it: the name before the first colon,
 * trimmed and lowercased; the value is everything after it (folded lines included), undecoded:
 * header lines are binary strings (one character per byte).
 */
export function headerField(line: string): { name: string; value: string } {
  const colon = line.indexOf(':');
  if (colon === -1) return { name: line.trim().toLowerCase(), value: '' };
  return { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) };
}

// --- terms ---------------------------------------------------------------------------------------

/** A run longer than this (UTF-16 code units) is indexed as overlapping windows of this length. */
export const IMAP_TERM_MAX = 64;
const WINDOW_STEP = 32;
/**
 * The longest word that lies whole within one window of any run, wherever it occurs (a window
 * starts every 32 units, one earlier to keep a surrogate pair whole): found exactly by `infix`.
 */
export const IMAP_WORD_MAX = 30;

/** A message's IMAP text over this many characters (lowercased) is not indexed, only flagged. */
export const IMAP_TEXT_MAX_CHARS = 1_000_000;

/**
 * Marks, in the IMAP fields it stands for, a message whose text there is not (fully) indexed: too
 * long, or the MIME parser failed. Never a run (it holds a `!`).
 */
export const IMAP_PARTIAL_TERM = '!partial';

/** Term → IMAP field bits (fields.ts numbering). */
export type ImapTerms = Map<string, number>;

const bit = (field: ImapField): number => 1 << fieldNumber(field);
export const IMAP_HEADER_BITS = bit('imap-header') | bit('imap-header-name') | bit('imap-subject') | bit('imap-from') | bit('imap-to') | bit('imap-cc') | bit('imap-bcc');
export const IMAP_BODY_BITS = bit('imap-body');

/** The header names whose values have a field of their own: the ones SEARCH has keys for. */
export const IMAP_VALUE_FIELDS: ReadonlyMap<string, ImapField> = new Map<string, ImapField>([
  ['subject', 'imap-subject'],
  ['from', 'imap-from'],
  ['to', 'imap-to'],
  ['cc', 'imap-cc'],
  ['bcc', 'imap-bcc'],
]);

/**
 * The IMAP fields' terms of a message. `tree`: as parsed at ingest; the header block alone when its
 * structure was not taken apart (`wholeTree` false); null when not even that. Never throws: what
 * cannot be derived is flagged with IMAP_PARTIAL_TERM, so SEARCH checks the message itself.
 */
export function collectImapTerms(tree: MimeNode | null, raw: Buffer, wholeTree = true): ImapTerms {
  const terms: ImapTerms = new Map();
  const adder =
    (bits: number) =>
    (term: string): void => {
      // Most runs repeat (a word, a header name): look up once, write only what changes.
      const known = terms.get(term);
      if (known === undefined) terms.set(term, bits);
      else if ((known | bits) !== known) terms.set(term, known | bits);
    };
  if (!tree) {
    adder(IMAP_HEADER_BITS | IMAP_BODY_BITS)(IMAP_PARTIAL_TERM);
    return terms;
  }
  const parsed = tree;
  try {
    const header = headerBlock(parsed).toString().toLowerCase();
    if (header.length > IMAP_TEXT_MAX_CHARS) {
      adder(IMAP_HEADER_BITS)(IMAP_PARTIAL_TERM);
    } else {
      forEachImapTerm(header, adder(bit('imap-header')));
      const nameTerm = adder(bit('imap-header-name'));
      for (const line of parsed.header ?? []) {
        const { name, value } = headerField(line);
        if (name !== '' && name.length <= IMAP_TERM_MAX) nameTerm(name);
        const field = IMAP_VALUE_FIELDS.get(name);
        if (field) forEachImapTerm(value.toLowerCase(), adder(bit(field)));
      }
    }
  } catch {
    adder(IMAP_HEADER_BITS)(IMAP_PARTIAL_TERM);
  }
  if (!wholeTree) {
    adder(IMAP_BODY_BITS)(IMAP_PARTIAL_TERM);
    return terms;
  }
  try {
    const body = rebuildMessage(parsed, true);
    // Bytes first: a body of many megabytes is never decoded (a UTF-8 byte is at most one unit).
    const text = body.length > 3 * IMAP_TEXT_MAX_CHARS ? undefined : body.toString().toLowerCase();
    if (text === undefined || text.length > IMAP_TEXT_MAX_CHARS) adder(IMAP_BODY_BITS)(IMAP_PARTIAL_TERM);
    else forEachImapTerm(text, adder(IMAP_BODY_BITS));
  } catch {
    adder(IMAP_BODY_BITS)(IMAP_PARTIAL_TERM);
  }
  return terms;
}

/** Calls emit for each term of (lowercased) text: every run, a long one as its windows. */
export function forEachImapTerm(text: string, emit: (term: string) => void): void {
  forEachRun(text, (start, end) => {
    if (end - start <= IMAP_TERM_MAX) {
      emit(text.slice(start, end));
      return;
    }
    // Windows [start + 32k, +64) and a last one ending at the run's end; a boundary that would
    // split a surrogate pair moves back by one unit.
    for (let at = start; ; at += WINDOW_STEP) {
      if (at + IMAP_TERM_MAX >= end) {
        emit(text.slice(alignStart(text, end - IMAP_TERM_MAX, start), end));
        return;
      }
      emit(text.slice(alignStart(text, at, start), alignEnd(text, at + IMAP_TERM_MAX)));
    }
  });
}

const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;
const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

function alignStart(text: string, at: number, min: number): number {
  return at > min && isLowSurrogate(text.charCodeAt(at)) && isHighSurrogate(text.charCodeAt(at - 1)) ? at - 1 : at;
}

function alignEnd(text: string, at: number): number {
  return at < text.length && isLowSurrogate(text.charCodeAt(at)) && isHighSurrogate(text.charCodeAt(at - 1)) ? at - 1 : at;
}

/** A word of a search string: a run, and whether the string has a non-run character right before / after it. */
export interface ImapWord {
  text: string;
  boundedBefore: boolean;
  boundedAfter: boolean;
}

/**
 * The runs of a (lowercased) search string, or undefined when it holds a lone surrogate (which
 * could pair with a neighbour in the searched text, so runs there need not be runs here).
 */
export function imapWords(needle: string): ImapWord[] | undefined {
  for (let i = 0; i < needle.length; i++) {
    const code = needle.charCodeAt(i);
    if (isHighSurrogate(code) && isLowSurrogate(needle.charCodeAt(i + 1))) i++;
    else if (isHighSurrogate(code) || isLowSurrogate(code)) return undefined;
  }
  const words: ImapWord[] = [];
  forEachRun(needle, (start, end) => words.push({ text: needle.slice(start, end), boundedBefore: start > 0, boundedAfter: end < needle.length }));
  return words;
}

// --- runs ----------------------------------------------------------------------------------------

const RUN_CHAR = /^[\p{L}\p{N}]$/u;
let bmpRunChars: Uint8Array | undefined;

/** Whether each BMP code unit is a letter or digit (lone surrogates are not), computed once. */
function bmpTable(): Uint8Array {
  if (!bmpRunChars) {
    const table = new Uint8Array(0x10000);
    for (let code = 0; code < 0x10000; code++) {
      if (isHighSurrogate(code) || isLowSurrogate(code)) continue;
      if (RUN_CHAR.test(String.fromCharCode(code))) table[code] = 1;
    }
    bmpRunChars = table;
  }
  return bmpRunChars;
}

/** Calls visit(start, end) for each maximal run of code points in \p{L} or \p{N}, in order. */
export function forEachRun(text: string, visit: (start: number, end: number) => void): void {
  const table = bmpTable();
  let start = -1;
  const length = text.length;
  for (let i = 0; i < length; ) {
    const code = text.charCodeAt(i);
    let width = 1;
    let inRun: boolean;
    if (isHighSurrogate(code) && i + 1 < length && isLowSurrogate(text.charCodeAt(i + 1))) {
      width = 2;
      inRun = RUN_CHAR.test(text.slice(i, i + 2));
    } else {
      inRun = table[code] === 1;
    }
    if (inRun) {
      if (start === -1) start = i;
    } else if (start !== -1) {
      visit(start, i);
      start = -1;
    }
    i += width;
  }
  if (start !== -1) visit(start, length);
}
