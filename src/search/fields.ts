// The text fields of the index and their numbers on disk. A posting records, per message, a mask
// of the fields a term occurs in, and each position carries its field in its low 4 bits, so one
// posting list per term answers both `word` (any field) and `subject:word`.
import { TEXT_FIELDS, type TextField } from './query.js';

export const FIELD_BITS = 4;

/** TEXT_FIELDS order is the on-disk numbering: body first, so the commonest masks fit one byte. */
export const fieldNumber = (field: TextField): number => TEXT_FIELDS.indexOf(field);

export const ANY_FIELD_MASK = (1 << TEXT_FIELDS.length) - 1;

export function fieldMask(fields: readonly TextField[] | 'any'): number {
  if (fields === 'any') return ANY_FIELD_MASK;
  return fields.reduce((mask, field) => mask | (1 << fieldNumber(field)), 0);
}
