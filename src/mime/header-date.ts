// The Date header of a raw message, for sources that offer no date of their own (POP3 has no
// INTERNALDATE). JavaScript's Date parses RFC 5322 dates; obsolete zone names it does not know
// leave the date unknown rather than wrong.
import { headerEnd } from './header-block.js';

const DATE_FIELD = /^date:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)/im;

export function headerDate(raw: Buffer): Date | undefined {
  const header = raw.subarray(0, headerEnd(raw)).toString('latin1');
  const match = DATE_FIELD.exec(header);
  if (match === null) return undefined;
  const date = new Date(match[1]!.replace(/\r?\n[ \t]+/g, ' ').replace(/\([^)]*\)/g, '').trim());
  return Number.isFinite(date.getTime()) ? date : undefined;
}
