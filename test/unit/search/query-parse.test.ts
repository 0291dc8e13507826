// The quick-search parser: every example of the MailStore manual's quick-search section gives its
// exact tree, and hostile input gives either a tree or CofferError(QUERY_INVALID) with a message
// that names the problem and its position; never another exception, never a long parse.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { CofferError, ErrorCodes } from '../../../src/errors.js';
import { MAX_QUERY_LENGTH, MAX_QUERY_TERMS, parseQuickSearch } from '../../../src/search/query-parse.js';
import type { Query, TextField, TextMatch } from '../../../src/search/query.js';

const word = (w: string): TextMatch => ({ kind: 'word', word: w });
const any = (match: TextMatch): Query => ({ op: 'text', fields: 'any', match });
const inField = (field: TextField, match: TextMatch): Query => ({ op: 'text', fields: [field], match });
const not = (item: Query): Query => ({ op: 'not', item });
const and = (...items: Query[]): Query => ({ op: 'and', items });

function rejects(t: ExecutionContext, text: string, message: string): void {
  const error = t.throws(() => parseQuickSearch(text), { instanceOf: CofferError }, JSON.stringify(text));
  t.is(error?.code, ErrorCodes.QueryInvalid);
  t.is(error?.message, message);
}

test('manual: word fragments with *', (t) => {
  t.deepEqual(parseQuickSearch('auto*'), any({ kind: 'prefix', prefix: 'auto' }));
  t.deepEqual(parseQuickSearch('*example.com'), any({ kind: 'suffix', suffix: 'example.com' }));
  t.deepEqual(parseQuickSearch('firstname.lastname*'), any({ kind: 'prefix', prefix: 'firstname.lastname' }));
});

test('manual: unknown letters with ?', (t) => {
  t.deepEqual(parseQuickSearch('Me?er'), any({ kind: 'wildcard', pattern: 'me?er' }));
  t.deepEqual(parseQuickSearch('Me?er*'), any({ kind: 'wildcard', pattern: 'me?er*' }));
  t.deepEqual(parseQuickSearch('Me??er'), any({ kind: 'wildcard', pattern: 'me??er' }));
});

test('manual: phrases', (t) => {
  t.deepEqual(parseQuickSearch('"Microsoft Windows"'), any({ kind: 'phrase', words: ['microsoft', 'windows'] }));
});

test('manual: every field prefix', (t) => {
  t.deepEqual(parseQuickSearch('subject:News'), inField('subject', word('news')));
  t.deepEqual(parseQuickSearch('from:john@mailstore.com'), inField('from', word('john@mailstore.com')));
  t.deepEqual(parseQuickSearch('to:michael@mailstore.com'), inField('to', word('michael@mailstore.com')));
  t.deepEqual(parseQuickSearch('cc:lisa@mailstore.com'), inField('cc', word('lisa@mailstore.com')));
  t.deepEqual(parseQuickSearch('bcc:customers@mailstore.com'), inField('bcc', word('customers@mailstore.com')));
  t.deepEqual(parseQuickSearch('bcontent:billing'), inField('body', word('billing')));
  t.deepEqual(parseQuickSearch('acontent:billing'), inField('acontent', word('billing')));
  t.deepEqual(parseQuickSearch('attachment:invoice.pdf'), inField('attachment', word('invoice.pdf')));
  t.deepEqual(parseQuickSearch('messageid:<a1.b2@mx.example.com>'), inField('messageid', word('a1.b2@mx.example.com')));
  t.deepEqual(parseQuickSearch('Message-ID:<a1@mx>'), inField('messageid', word('a1@mx')));
});

test('field prefixes are case-insensitive and take wildcards and phrases', (t) => {
  t.deepEqual(parseQuickSearch('SUBJECT:News'), inField('subject', word('news')));
  t.deepEqual(parseQuickSearch('subject:"daily update"'), inField('subject', { kind: 'phrase', words: ['daily', 'update'] }));
  t.deepEqual(parseQuickSearch('from:*@example.com'), inField('from', { kind: 'suffix', suffix: '@example.com' }));
  t.deepEqual(parseQuickSearch('to:Me?er*'), inField('to', { kind: 'wildcard', pattern: 'me?er*' }));
});

test('manual: exclusions and combinations', (t) => {
  t.deepEqual(parseQuickSearch('ZDNet -download-tip'), and(any(word('zdnet')), not(any(word('download-tip')))));
  t.deepEqual(
    parseQuickSearch('ZDNET -"Daily Update"'),
    and(any(word('zdnet')), not(any({ kind: 'phrase', words: ['daily', 'update'] }))),
  );
  t.deepEqual(parseQuickSearch('from:ZDNET bcontent:MailStore'), and(inField('from', word('zdnet')), inField('body', word('mailstore'))));
  t.deepEqual(
    parseQuickSearch('from:billing@example.com acontent:bill'),
    and(inField('from', word('billing@example.com')), inField('acontent', word('bill'))),
  );
  t.deepEqual(
    parseQuickSearch('to:recruiting@example.com -sales'),
    and(inField('to', word('recruiting@example.com')), not(any(word('sales')))),
  );
  t.deepEqual(
    parseQuickSearch('from:billing@example.com to:myaddress@company.tld acontent:bill -subject:admonition'),
    and(
      inField('from', word('billing@example.com')),
      inField('to', word('myaddress@company.tld')),
      inField('acontent', word('bill')),
      not(inField('subject', word('admonition'))),
    ),
  );
});

test('exclusions of every kind; a query of only exclusions is allowed', (t) => {
  t.deepEqual(parseQuickSearch('-auto*'), not(any({ kind: 'prefix', prefix: 'auto' })));
  t.deepEqual(parseQuickSearch('-subject:"x y"'), not(inField('subject', { kind: 'phrase', words: ['x', 'y'] })));
  t.deepEqual(parseQuickSearch('-spam -ham'), and(not(any(word('spam'))), not(any(word('ham')))));
  t.deepEqual(parseQuickSearch('--foo'), not(any(word('foo'))));
});

test('empty and whitespace-only queries match everything; one item needs no and', (t) => {
  t.deepEqual(parseQuickSearch(''), { op: 'all' });
  t.deepEqual(parseQuickSearch(' \t\r\n '), { op: 'all' });
  t.deepEqual(parseQuickSearch('  hello  '), any(word('hello')));
});

test('words are normalised and trimmed; diacritics removed', (t) => {
  t.deepEqual(parseQuickSearch('Müller'), any(word('muller')));
  t.deepEqual(parseQuickSearch('MÜLLER'), any(word('muller')));
  t.deepEqual(parseQuickSearch('Straße'), any(word('strasse')));
  t.deepEqual(parseQuickSearch('(hello),'), any(word('hello')));
  t.deepEqual(parseQuickSearch('C++'), any(word('c')));
});

test('several words inside one item become a phrase of the words the index sees', (t) => {
  t.deepEqual(parseQuickSearch('10:30'), any({ kind: 'phrase', words: ['10', '30'] }));
  t.deepEqual(parseQuickSearch('foo+bar'), any({ kind: 'phrase', words: ['foo', 'bar'] }));
  t.deepEqual(parseQuickSearch('foo..bar'), any({ kind: 'phrase', words: ['foo', 'bar'] }));
  // An unknown prefix is not a field: the item is text.
  t.deepEqual(parseQuickSearch('foo:bar'), any({ kind: 'phrase', words: ['foo', 'bar'] }));
  t.deepEqual(parseQuickSearch('http://x'), any({ kind: 'phrase', words: ['http', 'x'] }));
  t.deepEqual(parseQuickSearch('constructor:x'), any({ kind: 'phrase', words: ['constructor', 'x'] }));
});

test('phrases: one word is a word; * and ? inside quotes are separators', (t) => {
  t.deepEqual(parseQuickSearch('"One"'), any(word('one')));
  t.deepEqual(parseQuickSearch('"a*b?c"'), any({ kind: 'phrase', words: ['a', 'b', 'c'] }));
  t.deepEqual(parseQuickSearch('"x" y'), and(any(word('x')), any(word('y'))));
});

test('OR, AND and NOT are words, not operators', (t) => {
  t.deepEqual(parseQuickSearch('a OR b'), and(any(word('a')), any(word('or')), any(word('b'))));
  t.deepEqual(parseQuickSearch('NOT x'), and(any(word('not')), any(word('x'))));
});

test('a joiner next to the * is kept: it narrows the match to compounds', (t) => {
  t.deepEqual(parseQuickSearch('*@example.com'), any({ kind: 'suffix', suffix: '@example.com' }));
  t.deepEqual(parseQuickSearch('example.*'), any({ kind: 'prefix', prefix: 'example.' }));
  t.deepEqual(parseQuickSearch('(auto*)'), any({ kind: 'prefix', prefix: 'auto' }));
  t.deepEqual(parseQuickSearch('a.?b'), any({ kind: 'wildcard', pattern: 'a.?b' }));
});

test('malformed quotes', (t) => {
  rejects(t, 'subject:"daily update', 'unclosed quote starting at character 9');
  rejects(t, '"', 'unclosed quote starting at character 1');
  rejects(t, '""', 'phrase starting at character 1 contains no words');
  rejects(t, '"!! ?"', 'phrase starting at character 1 contains no words');
  rejects(t, '"a"b', 'closing quote at character 3 must be followed by a space');
  rejects(t, 'foo"bar baz"', 'quote at character 4 is inside a word; a phrase must start with its quote');
  rejects(
    t,
    'subjekt:"a b"',
    'unknown field name at character 1; fields are subject, from, to, cc, bcc, bcontent, acontent, attachment, messageid, message-id',
  );
});

test('malformed exclusions and fields', (t) => {
  rejects(t, '-', '- at character 1 must be followed by a word');
  rejects(t, 'a - b', '- at character 3 must be followed by a word');
  rejects(t, 'subject:', 'subject: at character 1 must be followed by a word or a quoted phrase');
  rejects(t, 'x Subject: news', 'subject: at character 3 must be followed by a word or a quoted phrase');
  rejects(t, '-from:', 'from: at character 2 must be followed by a word or a quoted phrase');
  rejects(t, 'to:-sales', '- at character 4 must come before the field name, as in -to:word');
});

test('malformed wildcards', (t) => {
  rejects(t, '*', '* at character 1 must be next to a word (auto* or *example.com)');
  rejects(t, '**', '* at character 1 must be next to a word (auto* or *example.com)');
  rejects(t, '*foo*', '*word* at character 1 is not supported; use word* or *word');
  rejects(t, 'a*b', '* at character 2 must be the first or last character of a word');
  rejects(t, '**foo', '* at character 2 must be the first or last character of a word');
  rejects(t, '?x', '? at character 1 cannot be the first or last character of a word; use *');
  rejects(t, 'x?', '? at character 2 cannot be the first or last character of a word; use *');
  rejects(t, '(?er)', '? at character 2 cannot be the first or last character of a word; use *');
  rejects(t, 'Me?*', '? at character 3 cannot be the first or last character of a word; use *');
  rejects(t, '?', '? at character 1 cannot be the first or last character of a word; use *');
  rejects(t, '*Me?er', '? at character 4 cannot be combined with a leading *');
  rejects(t, '10:30*', 'wildcard word at character 1 holds several words; a wildcard applies to one word');
  rejects(t, '!*', '* at character 2 must be next to a word (auto* or *example.com)');
  rejects(t, '\u0301*', 'word at character 1 has no letters or digits');
});

test('items without letters or digits', (t) => {
  rejects(t, '!!!', 'word at character 1 has no letters or digits');
  rejects(t, 'ok --', 'word at character 5 has no letters or digits');
  rejects(t, 'subject:!!', 'word at character 9 has no letters or digits');
});

test('length and term limits', (t) => {
  t.is(MAX_QUERY_LENGTH, 1000);
  t.is(MAX_QUERY_TERMS, 64);
  rejects(t, 'a'.repeat(10_000), 'query is longer than 1000 characters');
  rejects(t, 'a'.repeat(MAX_QUERY_LENGTH + 1), 'query is longer than 1000 characters');
  rejects(t, '😀'.repeat(MAX_QUERY_LENGTH + 1), 'query is longer than 1000 characters');
  // The limit counts characters (code points), not UTF-16 units.
  t.deepEqual(parseQuickSearch(`${'😀'.repeat(MAX_QUERY_LENGTH - 1)}a`), any(word('a')));
  t.deepEqual(parseQuickSearch('a'.repeat(MAX_QUERY_LENGTH)), any(word('a'.repeat(MAX_QUERY_LENGTH))));

  const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
  const parsed = parseQuickSearch(words(MAX_QUERY_TERMS));
  t.is(parsed.op === 'and' ? parsed.items.length : 0, MAX_QUERY_TERMS);
  rejects(t, words(MAX_QUERY_TERMS + 1), `query has more than 64 terms; term 65 starts at character ${words(64).length + 2}`);
});

test('control characters, NUL included, separate items like spaces', (t) => {
  t.deepEqual(parseQuickSearch('a\u0000b'), and(any(word('a')), any(word('b'))));
  t.deepEqual(parseQuickSearch('\u0000\u0001\u007f'), { op: 'all' });
  t.deepEqual(parseQuickSearch('-x\u0000y'), and(not(any(word('x'))), any(word('y'))));
  rejects(t, '-\u0000x', '- at character 1 must be followed by a word');
  t.deepEqual(parseQuickSearch('"a\u0000b"'), any({ kind: 'phrase', words: ['a', 'b'] }));
});

test('unicode garbage: emoji, lone surrogates, compatibility forms', (t) => {
  rejects(t, '😀', 'word at character 1 has no letters or digits');
  rejects(t, '\uD800', 'word at character 1 has no letters or digits');
  rejects(t, 'ok \uDC00\uDC00', 'word at character 4 has no letters or digits');
  t.deepEqual(parseQuickSearch('foo😀bar'), any({ kind: 'phrase', words: ['foo', 'bar'] }));
  t.deepEqual(parseQuickSearch('\uD800foo'), any(word('foo')));
  // Positions count code points: the emoji is one character.
  rejects(t, '😀x "y', 'unclosed quote starting at character 4');
  // A full-width ? is not a wildcard: it normalises to a separator.
  t.deepEqual(parseQuickSearch('Me\uFF1Fer'), any({ kind: 'phrase', words: ['me', 'er'] }));
  t.deepEqual(parseQuickSearch('\uFF21\uFF22C'), any(word('abc')));
});

// Deterministic pseudo-random strings (mulberry32) over characters that matter to the syntax.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every string a tree asks the index to match: each must hold a letter or digit. */
function terms(query: Query): string[] {
  switch (query.op) {
    case 'and':
    case 'or':
      return query.items.flatMap(terms);
    case 'not':
      return terms(query.item);
    case 'text': {
      const { match } = query;
      if (match.kind === 'word') return [match.word];
      if (match.kind === 'prefix') return [match.prefix];
      if (match.kind === 'suffix') return [match.suffix];
      if (match.kind === 'wildcard') return [match.pattern];
      // A phrase of fewer than two words should have been a word (or an error): fail the check.
      return match.kind === 'phrase' && match.words.length > 1 ? match.words : [''];
    }
    default:
      return [];
  }
}

const ALPHABET = ['"', '-', '*', '?', ':', ' ', ' ', 'a', 'b', 'Z', 'é', '.', '@', '😀', '\u0000', '\uD800', 'subject:', 'from:', '1'];

test('fuzz: 2,000 random strings either parse or throw QUERY_INVALID', (t) => {
  const next = random(20240601);
  const started = Date.now();
  let parsed = 0;
  for (let n = 0; n < 2000; n++) {
    const length = Math.floor(next() * 40);
    let text = '';
    for (let i = 0; i < length; i++) text += ALPHABET[Math.floor(next() * ALPHABET.length)];
    try {
      const query = parseQuickSearch(text);
      parsed++;
      for (const term of terms(query)) t.regex(term, /[\p{L}\p{N}]/u, JSON.stringify(text));
    } catch (error) {
      if (!(error instanceof CofferError) || error.code !== ErrorCodes.QueryInvalid) {
        t.fail(`${JSON.stringify(text)} threw ${String(error)}`);
        return;
      }
      t.regex(error.message, /character \d+|query /);
    }
  }
  t.true(parsed > 100, 'the alphabet produces valid queries too');
  t.true(Date.now() - started < 2000);
});

test('fuzz: 2,000 random strings of any UTF-16 units either parse or throw QUERY_INVALID', (t) => {
  const next = random(7);
  for (let n = 0; n < 2000; n++) {
    const units = Array.from({ length: Math.floor(next() * 30) }, () => Math.floor(next() * 0x10000));
    const text = String.fromCharCode(...units);
    try {
      parseQuickSearch(text);
    } catch (error) {
      if (!(error instanceof CofferError) || error.code !== ErrorCodes.QueryInvalid) {
        t.fail(`${JSON.stringify(text)} threw ${String(error)}`);
        return;
      }
    }
  }
  t.pass();
});

test('worst-case input within the limits parses quickly', (t) => {
  const started = Date.now();
  for (const text of ['a.'.repeat(500), '"'.repeat(999) + 'x', 'a?'.repeat(499) + 'a*', '-'.repeat(1000), 'a:'.repeat(500)]) {
    try {
      parseQuickSearch(text);
    } catch (error) {
      t.true(error instanceof CofferError && error.code === ErrorCodes.QueryInvalid);
    }
  }
  t.true(Date.now() - started < 500);
});
