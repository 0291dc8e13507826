// Decides what a journal endpoint archives from the bytes it received: an Exchange / Microsoft 365
// envelope journal report is unwrapped to the original message plus the envelope its report lists
// (Bcc and expanded recipients included); an NDR keeps only the mail it carries (seed 003); anything
// else, malformed wrappers included, is archived exactly as received. Pure, synchronous, never throws.
import { headerEnd } from '../mime/header-block.js';

/** Lowercased addresses from a journal report. */
export interface JournalEnvelope {
  sender: string | null;
  recipients: string[];
}

export type JournalUnwrap =
  /** Archive the received bytes as they are. */
  | { kind: 'plain' }
  /** Archive `original`, route by `envelope`. */
  | { kind: 'journal-report'; original: Buffer; envelope: JournalEnvelope }
  /** An NDR through a journal endpoint: archive only the attached mail. */
  | { kind: 'ndr-attachment'; original: Buffer };

const PLAIN: JournalUnwrap = { kind: 'plain' };
// Only the first few levels are searched: an NDR nests its returned mail at most in a
// multipart/report inside a multipart/mixed. Deeper is hostile, not a real report.
const MAX_DEPTH = 3;
// A part header larger than this is not a real MIME part header; treating it as opaque keeps a
// hostile part from turning into one huge string.
const MAX_PART_HEADER = 256 * 1024;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;
const DASH = 0x2d;
const EQUALS = 0x3d;

// Field names at the start of a header line; tested on the header block before anything is parsed
// so ordinary mail costs one regular-expression pass over its header.
const INTERESTING_HEADER = /^(?:x-ms-journal-report[ \t]*:|x-ms-exchange-message-is-ndr[ \t]*:|content-type[ \t]*:\s*multipart\/report)/im;

export function unwrapJournalMessage(raw: Buffer): JournalUnwrap {
  try {
    const entity = readEntity(raw, 0, raw.length);
    if (!entity) return PLAIN;
    if (entity.headers.has('x-ms-journal-report')) {
      const report = unwrapReport(raw, entity);
      if (report) return report;
    }
    if (isNdr(entity)) return unwrapNdr(raw, entity);
    return PLAIN;
  } catch {
    // Defence in depth: whatever slipped past the checks, the wrapper is still archived whole.
    return PLAIN;
  }
}

/** A MIME entity (message or body part) located in a buffer: its parsed header and body range. */
interface Entity {
  headers: Map<string, string[]>;
  bodyStart: number;
  bodyEnd: number;
}

/** Reads the top-level header, or returns null when neither journal nor NDR headers are there. */
function readEntity(raw: Buffer, start: number, end: number): Entity | null {
  const bodyStart = start + headerEnd(raw.subarray(start, end));
  // No body means nothing could be wrapped inside.
  if (bodyStart >= end) return null;
  const headerText = raw.toString('latin1', start, bodyStart);
  if (!INTERESTING_HEADER.test(headerText)) return null;
  return { headers: parseHeaderFields(headerText), bodyStart, bodyEnd: end };
}

function readPart(raw: Buffer, start: number, end: number): Entity {
  const bodyStart = start + headerEnd(raw.subarray(start, end));
  if (bodyStart - start > MAX_PART_HEADER) return { headers: new Map(), bodyStart: end, bodyEnd: end };
  return { headers: parseHeaderFields(raw.toString('latin1', start, bodyStart)), bodyStart, bodyEnd: end };
}

/** Rule 1: the report text (Sender, To/Cc/Bcc/Recipient lines) and the message/rfc822 part. */
function unwrapReport(raw: Buffer, wrapper: Entity): JournalUnwrap | null {
  const contentType = parseContentType(first(wrapper.headers, 'content-type'));
  const boundary = contentType.params.get('boundary');
  if (!contentType.type.startsWith('multipart/') || !boundary) return null;
  let reportText: string | undefined;
  let original: Buffer | undefined;
  for (const part of splitMultipart(raw, wrapper.bodyStart, wrapper.bodyEnd, boundary)) {
    const entity = readPart(raw, part.start, part.end);
    const partType = parseContentType(first(entity.headers, 'content-type'));
    if (original === undefined && isMessageType(partType.type)) {
      const decoded = decodeBody(raw, entity);
      // A report whose original cannot be decoded is archived whole rather than half-understood.
      if (!decoded || decoded.length === 0) return null;
      original = decoded;
    } else if (reportText === undefined && (partType.type.startsWith('text/') || partType.type === 'multipart/alternative')) {
      const text = reportTextOf(raw, entity, partType);
      if (text === null) return null;
      reportText = text;
    }
    if (original !== undefined && reportText !== undefined) break;
  }
  // Both are required: without the report the envelope (and so Bcc recipients) would be lost
  // silently; the wrapper still holds everything, so it is archived as received instead.
  if (original === undefined || reportText === undefined) return null;
  return { kind: 'journal-report', original, envelope: parseReport(reportText) };
}

/** The report as text; a multipart/alternative report is read from its first text part. */
function reportTextOf(raw: Buffer, entity: Entity, contentType: ContentType): string | null {
  if (contentType.type === 'multipart/alternative') {
    const boundary = contentType.params.get('boundary');
    if (!boundary) return null;
    for (const part of splitMultipart(raw, entity.bodyStart, entity.bodyEnd, boundary)) {
      const child = readPart(raw, part.start, part.end);
      const childType = parseContentType(first(child.headers, 'content-type'));
      if (childType.type.startsWith('text/')) return reportTextOf(raw, child, childType);
    }
    return null;
  }
  const decoded = decodeBody(raw, entity);
  if (!decoded) return null;
  const text = decodeText(decoded, contentType.params.get('charset'));
  return contentType.type === 'text/html' ? htmlToText(text) : text;
}

function isNdr(entity: Entity): boolean {
  if (entity.headers.has('x-ms-exchange-message-is-ndr')) return true;
  const contentType = parseContentType(first(entity.headers, 'content-type'));
  return contentType.type === 'multipart/report' && contentType.params.get('report-type')?.toLowerCase() === 'delivery-status';
}

/** Rule 2: only the returned mail is archived, unwrapped further when it is itself a journal report. */
function unwrapNdr(raw: Buffer, ndr: Entity): JournalUnwrap {
  const attached = findAttachedMessage(raw, ndr, 0);
  if (!attached || attached.length === 0) return PLAIN;
  const inner = readEntity(attached, 0, attached.length);
  if (inner?.headers.has('x-ms-journal-report')) {
    const report = unwrapReport(attached, inner);
    if (report) return report;
  }
  return { kind: 'ndr-attachment', original: attached };
}

function findAttachedMessage(raw: Buffer, entity: Entity, depth: number): Buffer | null {
  const contentType = parseContentType(first(entity.headers, 'content-type'));
  const boundary = contentType.params.get('boundary');
  if (!contentType.type.startsWith('multipart/') || !boundary) return null;
  for (const part of splitMultipart(raw, entity.bodyStart, entity.bodyEnd, boundary)) {
    const child = readPart(raw, part.start, part.end);
    const childType = parseContentType(first(child.headers, 'content-type')).type;
    if (isMessageType(childType)) {
      const decoded = decodeBody(raw, child);
      if (decoded && decoded.length > 0) return decoded;
    } else if (childType.startsWith('multipart/') && depth + 1 < MAX_DEPTH) {
      const nested = findAttachedMessage(raw, child, depth + 1);
      if (nested) return nested;
    }
  }
  return null;
}

// message/global is the RFC 6532 (UTF-8 header) form of message/rfc822; both carry a whole message.
function isMessageType(type: string): boolean {
  return type === 'message/rfc822' || type === 'message/global';
}

// ---------------------------------------------------------------------------------------------
// The report text

const RECIPIENT_LINE = /^\s*(?:to|cc|bcc|recipient|recipients)\s*:(.*)$/i;
const SENDER_LINE = /^\s*sender\s*:(.*)$/i;
const MESSAGE_ID_LINE = /^\s*message-id\s*:/i;
// Exchange appends the recipient's history to the same line ("To: a@x, Expanded: list@x",
// "Recipient: a@x, Forwarded: b@y"); the label is dropped and the address kept.
const LABEL = /^[a-z][a-z0-9-]*\s*:\s*/i;
const ADDRESS = /^[^\s<>@,;]+@[^\s<>@,;]+$/;

/**
 * Exchange writes Sender, On-Behalf-Of, Subject, Message-Id, then one line per recipient. The
 * subject is the sender's text (a decoded encoded-word may hold a line break and a forged "To:"
 * line), so the sender is the first Sender line and recipients are read only after the last
 * Message-Id line, whose value comes from a header that cannot hold a line break.
 */
export function parseReport(text: string): JournalEnvelope {
  const lines = text.split(/\r?\n/);
  let recipientsFrom = 0;
  lines.forEach((line, index) => {
    if (MESSAGE_ID_LINE.test(line)) recipientsFrom = index + 1;
  });
  let sender: string | null = null;
  const senderLine = lines.find((line) => SENDER_LINE.test(line));
  // Exchange writes "Unspecified Address" when there is none: no address, so null.
  if (senderLine) sender = addressesIn(SENDER_LINE.exec(senderLine)?.[1] ?? '')[0] ?? null;
  const recipients = new Set<string>();
  for (const line of lines.slice(recipientsFrom)) {
    const match = RECIPIENT_LINE.exec(line);
    if (match) for (const address of addressesIn(match[1] ?? '')) recipients.add(address);
  }
  return { sender, recipients: [...recipients] };
}

function addressesIn(value: string): string[] {
  const found: string[] = [];
  for (const token of value.split(/[,;]/)) {
    let candidate = token.trim().replace(LABEL, '');
    const bracketed = /<([^<>]*)>/.exec(candidate);
    if (bracketed) candidate = bracketed[1] ?? '';
    candidate = candidate.trim();
    if (ADDRESS.test(candidate)) found.push(candidate.toLowerCase());
  }
  return found;
}

// Microsoft 365 may send the report as HTML; line structure is all that matters for the fields.
function htmlToText(html: string): string {
  return html
    .replace(/<(?:br|\/p|\/div|\/tr|\/li|\/h\d)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(lt|gt|amp|quot|apos|nbsp|#\d{1,7}|#x[\da-f]{1,6});/gi, (_, entity: string) => decodeEntity(entity));
}

function decodeEntity(entity: string): string {
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ' };
  const lower = entity.toLowerCase();
  const code = lower.startsWith('#x') ? Number.parseInt(lower.slice(2), 16) : lower.startsWith('#') ? Number.parseInt(lower.slice(1), 10) : NaN;
  if (Number.isFinite(code)) return code <= 0x10ffff ? String.fromCodePoint(code) : '';
  return named[lower] ?? '';
}

function decodeText(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    // Unknown charset label: addresses are ASCII, which every charset Exchange uses agrees on.
    return bytes.toString('latin1');
  }
}

// ---------------------------------------------------------------------------------------------
// MIME, kept to what unwrapping needs. A library splitter was not used: @zone-eu/mailsplit is an
// asynchronous stream (one setImmediate per line) and fails on more than 1000 parts, imap-core's
// parser rewrites line endings to CRLF; the original must come back byte for byte, synchronously.

/** Header fields by lowercased name, values unfolded (RFC 5322 2.2.3), in order of appearance. */
function parseHeaderFields(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let name: string | undefined;
  let value = '';
  const flush = (): void => {
    if (name === undefined) return;
    const values = fields.get(name);
    if (values) values.push(value.trim());
    else fields.set(name, [value.trim()]);
    name = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.length === 0) continue;
    if ((line.startsWith(' ') || line.startsWith('\t')) && name !== undefined) {
      value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  flush();
  return fields;
}

function first(fields: Map<string, string[]>, name: string): string {
  return fields.get(name)?.[0] ?? '';
}

interface ContentType {
  /** Lowercased type/subtype; text/plain when absent (RFC 2045 5.2). */
  type: string;
  /** Parameters by lowercased name, quotes removed. */
  params: Map<string, string>;
}

function parseContentType(value: string): ContentType {
  const semicolon = value.indexOf(';');
  const type = (semicolon === -1 ? value : value.slice(0, semicolon))
    .replace(/\([^)]*\)/g, '')
    .trim()
    .toLowerCase();
  const params = new Map<string, string>();
  if (semicolon !== -1) {
    const param = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
    for (const match of value.slice(semicolon).matchAll(param)) {
      const key = (match[1] ?? '').toLowerCase();
      if (!params.has(key)) params.set(key, match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? ''));
    }
  }
  return { type: type || 'text/plain', params };
}

interface PartRange {
  /** First byte of the part's header. */
  start: number;
  /** Where the CRLF before the next delimiter begins (RFC 2046 5.1.1: it belongs to the delimiter). */
  end: number;
}

/**
 * The body parts of a multipart body, found lazily so a caller can stop at the part it needs.
 * A part not followed by a delimiter (a truncated body) is not yielded: its end is unknown.
 */
function* splitMultipart(raw: Buffer, start: number, end: number, boundary: string): Generator<PartRange> {
  const marker = Buffer.from(`--${boundary}`, 'latin1');
  let delimiter = nextDelimiter(raw, start, start, end, marker);
  while (delimiter && !delimiter.close) {
    const next = nextDelimiter(raw, start, delimiter.after, end, marker);
    if (!next) return;
    yield { start: delimiter.after, end: Math.max(delimiter.after, next.lineStart) };
    delimiter = next;
  }
}

interface Delimiter {
  /** Where the line ending before the delimiter starts (or the dashes, at the start of the body). */
  lineStart: number;
  /** First byte after the delimiter line and its line ending. */
  after: number;
  close: boolean;
}

/** The next `--boundary` line at or after `from`: it must start a line and end with optional padding. */
function nextDelimiter(raw: Buffer, bodyStart: number, from: number, end: number, marker: Buffer): Delimiter | null {
  let search = from;
  while (search < end) {
    const at = raw.indexOf(marker, search);
    if (at === -1 || at + marker.length > end) return null;
    search = at + 1;
    if (at !== bodyStart && raw[at - 1] !== LF) continue;
    let pos = at + marker.length;
    const close = raw[pos] === DASH && raw[pos + 1] === DASH && pos + 1 < end;
    if (close) pos += 2;
    // Transport padding (RFC 2046 5.1.1): spaces and tabs before the line ending.
    while (pos < end && (raw[pos] === SP || raw[pos] === TAB)) pos++;
    let after: number;
    if (pos >= end) after = end;
    else if (raw[pos] === LF) after = pos + 1;
    else if (raw[pos] === CR && raw[pos + 1] === LF && pos + 1 < end) after = pos + 2;
    // "--boundaryX" or "--boundary--X": a longer boundary, or content that merely starts alike.
    // Being strict costs nothing: a body with no valid close is archived whole.
    else continue;
    let lineStart = at;
    if (at > bodyStart && raw[at - 1] === LF) lineStart = at - 1 > bodyStart && raw[at - 2] === CR ? at - 2 : at - 1;
    return { lineStart, after, close };
  }
  return null;
}

/** The part's body after transfer decoding, or null for an encoding it does not know. */
function decodeBody(raw: Buffer, entity: Entity): Buffer | null {
  const body = raw.subarray(entity.bodyStart, entity.bodyEnd);
  const encoding = first(entity.headers, 'content-transfer-encoding')
    .replace(/\([^)]*\)/g, '')
    .trim()
    .toLowerCase();
  switch (encoding) {
    case '':
    case '7bit':
    case '8bit':
    case 'binary':
      return body;
    case 'base64':
      // Node's decoder skips line breaks and other characters outside the alphabet.
      return Buffer.from(body.toString('latin1'), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return null;
  }
}

/**
 * RFC 2045 6.7 over bytes, in one linear pass (libqp's regular expressions go quadratic on long runs
 * of spaces): "=XX" escapes, soft line breaks, trailing white space dropped; line endings kept.
 */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let o = 0;
  let i = 0;
  const end = input.length;
  while (i < end) {
    const c = input[i] as number;
    if (c === EQUALS) {
      const high = hexValue(input[i + 1]);
      const low = hexValue(input[i + 2]);
      if (high >= 0 && low >= 0 && i + 2 < end) {
        out[o++] = high * 16 + low;
        i += 3;
        continue;
      }
      let j = i + 1;
      while (j < end && (input[j] === SP || input[j] === TAB)) j++;
      if (j >= end) {
        i = end;
        continue;
      }
      if (input[j] === LF) {
        i = j + 1;
        continue;
      }
      if (input[j] === CR && input[j + 1] === LF) {
        i = j + 2;
        continue;
      }
      // A stray "=" is kept as it is (RFC 2045 6.7, note 1: be robust).
      out[o++] = c;
      i++;
      continue;
    }
    if (c === SP || c === TAB) {
      let j = i;
      while (j < end && (input[j] === SP || input[j] === TAB)) j++;
      const atLineEnd = j >= end || input[j] === LF || (input[j] === CR && input[j + 1] === LF);
      // Byte by byte: runs are short, and a native copy per run costs more than the loop.
      if (!atLineEnd) for (; i < j; i++) out[o++] = input[i] as number;
      i = j;
      continue;
    }
    out[o++] = c;
    i++;
  }
  return out.subarray(0, o);
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}
