// Raw header-block checks that a MIME parser forgives silently but an archive must flag:
// where the header ends, whether the first line is a header field at all, over-long lines
// (RFC 5322 2.1.1: 998 octets) and 8-bit bytes that are not UTF-8 (RFC 6532 allows only UTF-8).

import { isAscii, isUtf8 } from 'node:buffer';

const MAX_LINE = 998;
// RFC 5322 3.6.8: field-name is printable US-ASCII except colon, then ':'.
const FIELD_START = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;

/** Byte offset where the body starts (after the blank line), or raw.length when there is none. */
export function headerEnd(raw: Buffer): number {
  let pos = 0;
  while (pos < raw.length) {
    const nl = raw.indexOf(0x0a, pos);
    const lineEnd = nl === -1 ? raw.length : nl;
    const content = lineEnd > pos && raw[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd;
    if (content === pos) return nl === -1 ? raw.length : nl + 1;
    if (nl === -1) return raw.length;
    pos = nl + 1;
  }
  return raw.length;
}

export function headerProblems(raw: Buffer, end: number): string[] {
  const problems: string[] = [];
  const firstLineEnd = raw.indexOf(0x0a);
  const firstLine = raw.subarray(0, Math.min(firstLineEnd === -1 ? raw.length : firstLineEnd, 1000)).toString('latin1');
  if (!FIELD_START.test(firstLine)) problems.push('no header section: the first line is not a header field');

  const header = raw.subarray(0, end);
  let start = 0;
  while (start < header.length) {
    const nl = header.indexOf(0x0a, start);
    const lineEnd = nl === -1 ? header.length : nl;
    if (lineEnd - start > MAX_LINE + 1) {
      problems.push(`header line longer than ${MAX_LINE} bytes (${lineEnd - start})`);
      break;
    }
    start = lineEnd + 1;
  }
  if (header.includes(0)) problems.push('NUL byte in the header section');
  else if (!isAscii(header) && !isUtf8(header)) problems.push('8-bit header bytes that are not UTF-8');
  return problems;
}
