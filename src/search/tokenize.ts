// Turns text into positioned terms for the full-text index: normalised words (normalize.ts), one
// position each; a compound word (`firstname.lastname@example.com`) is indexed both whole and by
// its parts, so it can be found either way and by wildcards on the whole. This runs on every
// archived message: one regex pass over the text, allocating only the terms it emits, with the
// costly Unicode normalisation kept to the stretches that hold non-ASCII characters.
import { normalizeText, WORD_PATTERN } from './normalize.js';

/**
 * Terms longer than this (in UTF-16 code units) are not indexed: base64 runs, hashes and other junk
 * would bloat the index and nobody searches for them. They still take their positions.
 */
export const MAX_TERM_LENGTH = 64;

// Private instance: WORD_PATTERN is global (stateful lastIndex) and shared with the query side.
const WORD = new RegExp(WORD_PATTERN.source, WORD_PATTERN.flags);
// WORD restricted to ASCII, case-insensitive: on ASCII text normalizeText is just lowercasing, and
// a plain character class is about five times faster than the Unicode property escapes.
const ASCII_WORD = /[a-z0-9]+(?:[.@\-_/\\][a-z0-9]+)*/gi;
const NON_ASCII = /[^\x00-\x7f]/g;
const JOINERS = /[.@\-_/\\]/;
/**
 * Non-ASCII characters closer than this to a Unicode stretch join it, so that text in, say, Greek
 * is one stretch rather than one per word.
 */
const MERGE_GAP = 256;

type Emit = (term: string, position: number) => void;

/** Whether a char code is one of the joiners `. @ - _ / \` (normalize.ts JOINER_PATTERN). */
function isJoiner(code: number): boolean {
  return code === 0x2e || code === 0x40 || code === 0x2d || code === 0x5f || code === 0x2f || code === 0x5c;
}

/** ASCII whitespace: neither part of a word nor touched by normalisation (nor a case context). */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/**
 * Calls emit(term, position) for every term of `text` (raw; normalised here with normalizeText),
 * positions counting up from `start`. Returns the next free position, so a caller can index several
 * values of one field one after another, leaving a gap.
 *
 * A simple word takes one position. A compound word takes one position per part: its parts are
 * emitted at p, p+1, ... and the whole word at p as well (emitted first), so emitted positions never
 * decrease. Terms longer than MAX_TERM_LENGTH are not emitted but keep their positions, so a phrase
 * never matches across them.
 */
export function tokenize(text: string, start: number, emit: Emit): number {
  // Most mail text is ASCII, with now and then a non-ASCII character (a curly quote, an umlaut).
  // Only the stretches around those, cut at ASCII whitespace, take the slow Unicode path;
  // normalizeText works character by character, so the cuts change nothing.
  let position = start;
  let cursor = 0;
  const length = text.length;
  while (cursor < length) {
    const first = nextNonAscii(text, cursor);
    if (first === -1) return asciiWords(text, cursor, length, position, emit);
    let stretchStart = first;
    while (stretchStart > cursor && !isSpace(text.charCodeAt(stretchStart - 1))) stretchStart--;
    let stretchEnd = spaceAfter(text, first);
    for (;;) {
      const next = nextNonAscii(text, stretchEnd);
      if (next === -1 || next - stretchEnd > MERGE_GAP) break;
      stretchEnd = spaceAfter(text, next);
    }
    if (stretchStart > cursor) position = asciiWords(text, cursor, stretchStart, position, emit);
    position = unicodeWords(normalizeText(text.slice(stretchStart, stretchEnd)), position, emit);
    cursor = stretchEnd;
  }
  return position;
}

function nextNonAscii(text: string, from: number): number {
  NON_ASCII.lastIndex = from;
  const match = NON_ASCII.exec(text);
  return match === null ? -1 : match.index;
}

/** The first ASCII whitespace at or after `from`, or the text's length. */
function spaceAfter(text: string, from: number): number {
  let i = from;
  while (i < text.length && !isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The words of text[from, to), which is ASCII and ends at whitespace or at the end of the text. */
function asciiWords(text: string, from: number, to: number, start: number, emit: Emit): number {
  let position = start;
  let lastIndex = from;
  for (;;) {
    // Reset from our own variable: an emit callback that tokenizes too must not move us.
    ASCII_WORD.lastIndex = lastIndex;
    const match = ASCII_WORD.exec(text);
    if (match === null || match.index >= to) break;
    lastIndex = ASCII_WORD.lastIndex;
    position = emitWord(match[0].toLowerCase(), position, emit);
  }
  return position;
}

function unicodeWords(normalized: string, start: number, emit: Emit): number {
  let position = start;
  let lastIndex = 0;
  for (;;) {
    WORD.lastIndex = lastIndex;
    const match = WORD.exec(normalized);
    if (match === null) break;
    lastIndex = WORD.lastIndex;
    position = emitWord(match[0], position, emit);
  }
  return position;
}

/** Emits one normalised WORD_PATTERN match (whole, and parts if compound); returns the next position. */
function emitWord(word: string, start: number, emit: Emit): number {
  let position = start;
  let joiner = -1;
  for (let i = 1; i < word.length - 1; i++) {
    if (isJoiner(word.charCodeAt(i))) {
      joiner = i;
      break;
    }
  }
  if (word.length <= MAX_TERM_LENGTH) emit(word, position);
  if (joiner === -1) return position + 1;
  // WORD_PATTERN guarantees single joiners between letters/digits: parts are never empty.
  let partStart = 0;
  let i = joiner;
  for (;;) {
    if (i - partStart <= MAX_TERM_LENGTH) emit(word.slice(partStart, i), position);
    position++;
    if (i === word.length) return position;
    partStart = i + 1;
    i = partStart + 1;
    while (i < word.length && !isJoiner(word.charCodeAt(i))) i++;
  }
}

/**
 * The parts of a (normalised) compound word, in order: `firstname.lastname@example.com` ->
 * `['firstname', 'lastname', 'example', 'com']`. A simple word gives `[word]`; empty parts (from
 * input that is not a WORD_PATTERN match, e.g. `a..b`) are dropped.
 */
export function splitWord(word: string): string[] {
  if (!JOINERS.test(word)) return word === '' ? [] : [word];
  return word.split(/[.@\-_/\\]/).filter((part) => part !== '');
}
