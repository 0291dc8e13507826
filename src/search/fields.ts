// The text fields of the index and their numbers on disk. A posting records, per message, a mask
// of the fields a term occurs in, and each position carries its field above the position within
// the field (field × 2^24 + position), so one posting list per term answers both `word` (any
// field) and `subject:word`, positions sort field by field, and a phrase's next word is at +1.
import { IMAP_FIELDS, TEXT_FIELDS, type SearchField } from './query.js';

/** Positions within one field run below this; later words of a longer field are not indexed. */
export const FIELD_POSITIONS = 2 ** 24;

export const encodePosition = (field: number, position: number): number => field * FIELD_POSITIONS + position;
export const positionField = (encoded: number): number => Math.floor(encoded / FIELD_POSITIONS);

/**
 * TEXT_FIELDS order is the on-disk numbering: body first, so the commonest masks fit one byte. The
 * IMAP fields follow (bits 9-16); they carry no positions.
 */
const FIELD_NUMBERS = new Map<SearchField, number>([...TEXT_FIELDS, ...IMAP_FIELDS].map((field, number) => [field, number]));
export const fieldNumber = (field: SearchField): number => FIELD_NUMBERS.get(field)!;

/** The quick search's fields without a prefix: the decoded text, never the IMAP fields. */
export const ANY_FIELD_MASK = (1 << TEXT_FIELDS.length) - 1;

export function fieldMask(fields: readonly SearchField[] | 'any'): number {
  if (fields === 'any') return ANY_FIELD_MASK;
  return fields.reduce((mask, field) => mask | (1 << fieldNumber(field)), 0);
}
