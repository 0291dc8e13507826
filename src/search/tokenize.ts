// Turns text into positioned terms for the full-text index: normalised words (normalize.ts), one
// position each; a compound word (`firstname.lastname@example.com`) is indexed both whole and by
// its parts, so it can be found either way and by wildcards on the whole. This runs on every
// archived message, so it makes one regex pass and allocates only the terms it emits.
import { normalizeText, WORD_PATTERN } from './normalize.js';

/**
 * Terms longer than this (in UTF-16 code units) are not indexed: base64 runs, hashes and other junk
 * would bloat the index and nobody searches for them. They still take their positions.
 */
export const MAX_TERM_LENGTH = 64;

// Private instances: WORD_PATTERN is global (stateful lastIndex) and shared with the query side.
const WORD = new RegExp(WORD_PATTERN.source, WORD_PATTERN.flags);
// Equivalent to WORD on text that is ASCII and lowercase; a plain character class is much faster
// than the Unicode property escapes.
const ASCII_WORD = /[a-z0-9]+(?:[.@\-_/\\][a-z0-9]+)*/g;
const NON_ASCII = /[^\x00-\x7f]/;
const JOINERS = /[.@\-_/\\]/;

/** Whether a char code is one of the joiners `. @ - _ / \` (normalize.ts JOINER_PATTERN). */
function isJoiner(code: number): boolean {
  return code === 0x2e || code === 0x40 || code === 0x2d || code === 0x5f || code === 0x2f || code === 0x5c;
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
export function tokenize(text: string, start: number, emit: (term: string, position: number) => void): number {
  // normalizeText is the identity plus lowercasing on ASCII text: skip its Unicode passes there.
  const ascii = !NON_ASCII.test(text);
  const normalized = ascii ? text.toLowerCase() : normalizeText(text);
  const pattern = ascii ? ASCII_WORD : WORD;
  let position = start;
  let lastIndex = 0;
  for (;;) {
    // Reset from our own variable: an emit callback that tokenizes too must not move us.
    pattern.lastIndex = lastIndex;
    const match = pattern.exec(normalized);
    if (match === null) break;
    const word = match[0];
    lastIndex = pattern.lastIndex;
    let joiner = -1;
    for (let i = 1; i < word.length - 1; i++) {
      if (isJoiner(word.charCodeAt(i))) {
        joiner = i;
        break;
      }
    }
    if (joiner === -1) {
      if (word.length <= MAX_TERM_LENGTH) emit(word, position);
      position++;
      continue;
    }
    if (word.length <= MAX_TERM_LENGTH) emit(word, position);
    // WORD_PATTERN guarantees single joiners between letters/digits: parts are never empty.
    let partStart = 0;
    let i = joiner;
    for (;;) {
      if (i - partStart <= MAX_TERM_LENGTH) emit(word.slice(partStart, i), position);
      position++;
      if (i === word.length) break;
      partStart = i + 1;
      i = partStart + 1;
      while (i < word.length && !isJoiner(word.charCodeAt(i))) i++;
    }
  }
  pattern.lastIndex = 0;
  return position;
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
