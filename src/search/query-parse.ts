// Parses the MailStore quick-search syntax (words, `"phrases"`, `auto*`, `*suffix`, `Me?er`,
// `field:value`, `-exclusion`) into a Query tree. A small hand-written scanner: the input is
// capped, every step is linear, and every malformed input becomes CofferError(QUERY_INVALID)
// whose message names the problem and its 1-based character (code point) position.

import { CofferError, ErrorCodes } from '../errors.js';
import { JOINER_PATTERN, WORD_PATTERN, normalizeText } from './normalize.js';
import type { Query, TextField, TextMatch } from './query.js';

/** Longest accepted query, in characters (code points). */
export const MAX_QUERY_LENGTH = 1000;
/** Most whitespace-separated items (words, phrases, field criteria, exclusions) in one query. */
export const MAX_QUERY_TERMS = 64;

// A Map, not an object literal: `constructor:` must not find Object.prototype.constructor.
const FIELD_PREFIXES = new Map<string, TextField>([
  ['subject', 'subject'],
  ['from', 'from'],
  ['to', 'to'],
  ['cc', 'cc'],
  ['bcc', 'bcc'],
  ['bcontent', 'body'],
  ['acontent', 'acontent'],
  ['attachment', 'attachment'],
  ['messageid', 'messageid'],
  ['message-id', 'messageid'],
]);
// Longest prefix is `message-id:` (11 characters); the match runs on a bounded slice.
const FIELD_HEAD = /^([a-z][a-z-]*):/i;
const FIELD_HEAD_LENGTH = 12;
// `subjekt:"daily update"`: a quote right after an unknown prefix is most likely a mistyped field.
const UNKNOWN_FIELD = /^[a-z][a-z-]*:$/i;

// Control characters (NUL included) separate items like spaces do.
const SPACE = /[\s\p{Cc}]/u;
// Punctuation around a wildcard word (`(auto*)`, `Meier,`) is dropped before looking at * and ?.
const OUTER_PUNCTUATION = /[^\p{L}\p{N}\p{M}*?]/u;
// Stands in for each `?` while checking that a wildcard word is one word (see wildcardMatch).
const ANY_CHARACTER = '0';

function fail(message: string): never {
  throw new CofferError(ErrorCodes.QueryInvalid, message);
}

const isSpace = (ch: string | undefined): boolean => ch === undefined || SPACE.test(ch);

export function parseQuickSearch(text: string): Query {
  // A code point is at most two UTF-16 units: reject huge input before splitting it.
  if (text.length > 2 * MAX_QUERY_LENGTH) fail(`query is longer than ${MAX_QUERY_LENGTH} characters`);
  const chars = Array.from(text);
  if (chars.length > MAX_QUERY_LENGTH) fail(`query is longer than ${MAX_QUERY_LENGTH} characters`);

  const items: Query[] = [];
  let i = 0;
  for (;;) {
    while (i < chars.length && isSpace(chars[i])) i++;
    if (i >= chars.length) break;
    if (items.length === MAX_QUERY_TERMS) {
      fail(`query has more than ${MAX_QUERY_TERMS} terms; term ${MAX_QUERY_TERMS + 1} starts at character ${i + 1}`);
    }
    const item = readItem(chars, i);
    items.push(item.query);
    i = item.end;
  }
  if (items.length === 0) return { op: 'all' };
  if (items.length === 1) return items[0] as Query;
  return { op: 'and', items };
}

/** One item starting at chars[start] (not whitespace): `[-][field:](word|"phrase")`. */
function readItem(chars: string[], start: number): { query: Query; end: number } {
  let i = start;
  const negated = chars[i] === '-';
  if (negated) {
    i++;
    if (isSpace(chars[i])) fail(`- at character ${start + 1} must be followed by a word`);
  }

  // An unknown prefix (`foo:bar`, `http://x`) is not a field: the whole item stays text.
  let field: TextField | undefined;
  const head = FIELD_HEAD.exec(chars.slice(i, i + FIELD_HEAD_LENGTH).join(''));
  if (head) {
    const name = (head[1] as string).toLowerCase();
    field = FIELD_PREFIXES.get(name);
    if (field !== undefined) {
      const fieldStart = i;
      i += head[0].length;
      if (isSpace(chars[i])) fail(`${name}: at character ${fieldStart + 1} must be followed by a word or a quoted phrase`);
      // `subject:-foo` almost certainly means an exclusion; say how to write one rather than
      // silently searching for foo.
      if (chars[i] === '-') fail(`- at character ${i + 1} must come before the field name, as in -${name}:word`);
    }
  }

  let match: TextMatch;
  let end: number;
  if (chars[i] === '"') {
    ({ match, end } = readPhrase(chars, i));
  } else {
    end = i;
    while (!isSpace(chars[end])) end++;
    const word = chars.slice(i, end);
    const quote = word.indexOf('"');
    if (quote !== -1) {
      if (UNKNOWN_FIELD.test(word.slice(0, quote).join(''))) {
        fail(`unknown field name at character ${i + 1}; fields are ${[...FIELD_PREFIXES.keys()].join(', ')}`);
      }
      fail(`quote at character ${i + quote + 1} is inside a word; a phrase must start with its quote`);
    }
    match = readWord(word, i);
  }

  const query: Query = { op: 'text', fields: field === undefined ? 'any' : [field], match };
  return { query: negated ? { op: 'not', item: query } : query, end };
}

/** `"exact phrase"` starting at chars[quote]; * and ? inside are separators, not wildcards. */
function readPhrase(chars: string[], quote: number): { match: TextMatch; end: number } {
  const close = chars.indexOf('"', quote + 1);
  if (close === -1) fail(`unclosed quote starting at character ${quote + 1}`);
  if (!isSpace(chars[close + 1])) fail(`closing quote at character ${close + 1} must be followed by a space`);
  const words = normalizeText(chars.slice(quote + 1, close).join('')).match(WORD_PATTERN) ?? [];
  if (words.length === 0) fail(`phrase starting at character ${quote + 1} contains no words`);
  return { match: words.length === 1 ? { kind: 'word', word: words[0] as string } : { kind: 'phrase', words }, end: close + 1 };
}

/** An unquoted word starting at character index `start`: plain, `prefix*`, `*suffix` or `Me?er[*]`. */
function readWord(word: string[], start: number): TextMatch {
  let from = 0;
  let to = word.length;
  while (from < to && OUTER_PUNCTUATION.test(word[from] as string)) from++;
  while (to > from && OUTER_PUNCTUATION.test(word[to - 1] as string)) to--;
  const core = word.slice(from, to);
  const at = start + from; // index of core[0] in the query

  if (!core.includes('*') && !core.includes('?')) return plainMatch(word.join(''), start);

  if (core.every((ch) => ch === '*')) fail(`* at character ${at + 1} must be next to a word (auto* or *example.com)`);
  const last = core.length - 1;
  core.forEach((ch, index) => {
    if (ch === '*' && index !== 0 && index !== last) {
      fail(`* at character ${at + index + 1} must be the first or last character of a word`);
    }
  });
  const leading = core[0] === '*';
  const trailing = core[last] === '*';
  if (leading && trailing) fail(`*word* at character ${at + 1} is not supported; use word* or *word`);
  const question = core.indexOf('?');
  if (leading && question !== -1) fail(`? at character ${at + question + 1} cannot be combined with a leading *`);

  return wildcardMatch(leading ? core.slice(1) : trailing ? core.slice(0, -1) : core, leading ? at + 1 : at, leading, trailing);
}

/** Text without wildcards: one word, or a phrase of the words the index would see in it. */
function plainMatch(text: string, start: number): TextMatch {
  const words = normalizeText(text).match(WORD_PATTERN) ?? [];
  if (words.length === 0) fail(`word at character ${start + 1} has no letters or digits`);
  // Several words (`10:30`, `foo+bar`, `foo..bar`) are indexed as consecutive terms.
  return words.length === 1 ? { kind: 'word', word: words[0] as string } : { kind: 'phrase', words };
}

/**
 * `body` is the word without its * (chars, the first at query index `start`), possibly holding ?.
 * It must be one word once normalised; a joiner next to the * is kept (`*@example.com`,
 * `example.*`) because it narrows the match to compounds, and terms are compounds.
 */
function wildcardMatch(body: string[], start: number, leadingStar: boolean, trailingStar: boolean): TextMatch {
  // Normalise the pieces between the ?s separately so that positions of ? stay known and a
  // compatibility character cannot turn into a new wildcard.
  const pieces: string[][] = [[]];
  const questionAt: number[] = []; // query index of each ?
  body.forEach((ch, index) => {
    if (ch === '?') {
      questionAt.push(start + index);
      pieces.push([]);
    } else {
      (pieces[pieces.length - 1] as string[]).push(ch);
    }
  });
  const normalised = pieces.map((piece) => normalizeText(piece.join('')));
  const pattern = normalised.join('?');
  const probe = normalised.join(ANY_CHARACTER); // same length as pattern; ? reads as a letter
  const joins: number[] = []; // index in pattern of each ?
  let offset = 0;
  for (const piece of normalised.slice(0, -1)) {
    offset += piece.length;
    joins.push(offset);
    offset += 1;
  }
  const questionIndex = (index: number): number => questionAt[joins.indexOf(index)] ?? start;

  const words = [...probe.matchAll(WORD_PATTERN)];
  const only = words[0];
  if (only === undefined) fail(`word at character ${start + 1} has no letters or digits`);
  if (words.length > 1) fail(`wildcard word at character ${start + 1} holds several words; a wildcard applies to one word`);
  let from = only.index;
  let to = from + only[0].length;
  if (pattern[from] === '?') fail(`? at character ${questionIndex(from) + 1} cannot be the first or last character of a word; use *`);
  if (pattern[to - 1] === '?') fail(`? at character ${questionIndex(to - 1) + 1} cannot be the first or last character of a word; use *`);
  if (leadingStar && from > 0 && JOINER_PATTERN.test(pattern[from - 1] as string)) from--;
  if (trailingStar && to < pattern.length && JOINER_PATTERN.test(pattern[to] as string)) to++;
  const stem = pattern.slice(from, to);

  if (leadingStar) return { kind: 'suffix', suffix: stem };
  if (questionAt.length > 0) return { kind: 'wildcard', pattern: trailingStar ? `${stem}*` : stem };
  return { kind: 'prefix', prefix: stem };
}
