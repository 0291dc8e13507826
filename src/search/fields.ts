// The text fields of the index and their numbers on disk. A posting records, per message, a mask
// of the fields a term occurs in, and each position carries its field above the position within
// the field (field × 2^24 + position), so one posting list per term answers both `word` (any
// field) and `subject:word`, positions sort field by field, and a phrase's next word is at +1.
import { TEXT_FIELDS, type SearchField } from './query.js';

/** Positions within one field run below this; later words of a longer field are not indexed. */
export const FIELD_POSITIONS = 2 ** 24;

export const encodePosition = (field: number, position: number): number => field * FIELD_POSITIONS + position;
export const positionField = (encoded: number): number => Math.floor(encoded / FIELD_POSITIONS);

/**
 * The on-disk numbering: a field's bit in a posting's mask, and the field part of a position. The
 * commonest masks fit one varint byte (below 128): a body word, which is nearly always in the raw
 * body too (body | imap-body), a word of a header line that has no field of its own (imap-header),
 * a word of a text attachment (acontent | imap-body). Only the text fields carry positions.
 */
const FIELD_ORDER: readonly SearchField[] = [
  'body', 'imap-body', 'imap-header', 'subject', 'from', 'to', 'acontent',
  'cc', 'bcc', 'attachment', 'messageid', 'imap-header-name', 'imap-subject', 'imap-from', 'imap-to', 'imap-cc', 'imap-bcc',
];
const FIELD_NUMBERS = new Map<SearchField, number>(FIELD_ORDER.map((field, number) => [field, number]));
export const fieldNumber = (field: SearchField): number => FIELD_NUMBERS.get(field)!;

/** The quick search's fields without a prefix: the decoded text, never the IMAP fields. */
export const ANY_FIELD_MASK = TEXT_FIELDS.reduce((mask, field) => mask | (1 << fieldNumber(field)), 0);

export function fieldMask(fields: readonly SearchField[] | 'any'): number {
  if (fields === 'any') return ANY_FIELD_MASK;
  return fields.reduce((mask, field) => mask | (1 << fieldNumber(field)), 0);
}
