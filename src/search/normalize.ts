// The one definition of how text becomes comparable terms, shared by indexing and querying:
// case-folded, Unicode-normalised (compatibility forms), diacritics removed, so that `Müller`,
// `MÜLLER` and `Muller` are the same term.

// Letters that carry no combining mark to strip but that people type without their diacritic.
const FOLDS: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', þ: 'th', ı: 'i' };
const FOLDABLE = /[ßæœøđðłþı]/g;
const MARKS = /\p{M}+/gu;

export function normalizeText(text: string): string {
  const folded = text.normalize('NFKD').replace(MARKS, '').toLowerCase();
  return folded.replace(FOLDABLE, (letter) => FOLDS[letter] ?? letter);
}

/**
 * A word as indexed and queried: letters and digits, possibly joined into a compound by single
 * `.` `@` `-` `_` `/` `\` between them (`firstname.lastname@example.com`, `download-tip`). Matched
 * against normalised text.
 */
export const WORD_PATTERN = /[\p{L}\p{N}]+(?:[.@\-_/\\][\p{L}\p{N}]+)*/gu;

/** The characters that join the parts of a compound word. */
export const JOINER_PATTERN = /[.@\-_/\\]/;
