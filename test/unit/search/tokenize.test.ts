// The tokenizer decides what a search can find: normalised terms, compounds whole and by parts at
// the positions phrase queries rely on, and junk that is left out without joining phrases across it.
import test from 'ava';
import { normalizeText, WORD_PATTERN } from '../../../src/search/normalize.js';
import { MAX_TERM_LENGTH, splitWord, tokenize } from '../../../src/search/tokenize.js';

function terms(text: string, start = 0): { list: [string, number][]; next: number } {
  const list: [string, number][] = [];
  const next = tokenize(text, start, (term, position) => list.push([term, position]));
  return { list, next };
}

test('Müller, MÜLLER and Muller are the same term', (t) => {
  t.deepEqual(terms('Müller').list, [['muller', 0]]);
  t.deepEqual(terms('MÜLLER').list, [['muller', 0]]);
  t.deepEqual(terms('Muller').list, [['muller', 0]]);
  t.deepEqual(terms('Straße ﬁle Œuvre').list, [['strasse', 0], ['file', 1], ['oeuvre', 2]]);
});

test('simple words take one position each, counting from start; the next free position is returned', (t) => {
  t.deepEqual(terms('Hello, big World!', 10), { list: [['hello', 10], ['big', 11], ['world', 12]], next: 13 });
  t.deepEqual(terms('', 7), { list: [], next: 7 });
  t.deepEqual(terms(' ,;: !! ', 3), { list: [], next: 3 });
});

test('a compound is emitted whole at its first position and by parts at consecutive positions', (t) => {
  const { list, next } = terms('mail firstname.lastname@example.com now');
  t.deepEqual(list, [
    ['mail', 0],
    ['firstname.lastname@example.com', 1],
    ['firstname', 1],
    ['lastname', 2],
    ['example', 3],
    ['com', 4],
    ['now', 5],
  ]);
  t.is(next, 6);
  t.deepEqual(terms('download-tip C:\\Temp\\x_y').list, [
    ['download-tip', 0],
    ['download', 0],
    ['tip', 1],
    ['c', 2],
    ['temp\\x_y', 3],
    ['temp', 3],
    ['x', 4],
    ['y', 5],
  ]);
});

test('compounds work the same on non-ASCII text', (t) => {
  t.deepEqual(terms('Grüße an Jürgen.Müller@Bücher.de').list, [
    ['grusse', 0],
    ['an', 1],
    ['jurgen.muller@bucher.de', 2],
    ['jurgen', 2],
    ['muller', 3],
    ['bucher', 4],
    ['de', 5],
  ]);
});

test('trailing and leading punctuation is not part of a word; doubled joiners split', (t) => {
  t.deepEqual(terms('The end. (see -this-) a..b x@@y').list, [
    ['the', 0],
    ['end', 1],
    ['see', 2],
    ['this', 3],
    ['a', 4],
    ['b', 5],
    ['x', 6],
    ['y', 7],
  ]);
});

test('terms longer than MAX_TERM_LENGTH are skipped but keep their positions', (t) => {
  const junk = 'x'.repeat(MAX_TERM_LENGTH + 1);
  t.deepEqual(terms(`before ${junk} after`), { list: [['before', 0], ['after', 2]], next: 3 });
  const exact = 'y'.repeat(MAX_TERM_LENGTH);
  t.deepEqual(terms(exact).list, [[exact, 0]]);
  // A long compound: the whole is skipped, short parts are kept, a long part keeps its position.
  t.deepEqual(terms(`ab.${junk}.cd`), { list: [['ab', 0], ['cd', 2]], next: 3 });
});

test('base64 lines do not bloat the index', (t) => {
  const line = 'TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxpdCwgc2Vk';
  const { list, next } = terms(`${line}\n${line}`);
  t.deepEqual(list, []);
  t.is(next, 2);
});

test('an emit callback that tokenizes too does not disturb the outer pass', (t) => {
  const outer: string[] = [];
  tokenize('one two.three four', 0, (term) => {
    outer.push(term);
    tokenize('inner words here', 100, () => undefined);
    tokenize('Ïnner wörds', 100, () => undefined);
  });
  t.deepEqual(outer, ['one', 'two.three', 'two', 'three', 'four']);
  const unicode: string[] = [];
  tokenize('ëins zwëi', 0, (term) => {
    unicode.push(term);
    tokenize('ïnner wörds', 100, () => undefined);
  });
  t.deepEqual(unicode, ['eins', 'zwei']);
});

/** The rules written out naively: the fast paths of tokenize must agree with this. */
function reference(text: string): [string, number][] {
  const list: [string, number][] = [];
  let position = 0;
  for (const word of normalizeText(text).match(new RegExp(WORD_PATTERN.source, WORD_PATTERN.flags)) ?? []) {
    const parts = splitWord(word);
    if (parts.length > 1 && word.length <= MAX_TERM_LENGTH) list.push([word, position]);
    for (const part of parts) {
      if (part.length <= MAX_TERM_LENGTH) list.push([part, position]);
      position++;
    }
  }
  return list;
}

test('the ASCII and Unicode paths agree with the naive rules on random text', (t) => {
  let seed = 42;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const ascii = 'abcdefghXYZ0189     .@-_/\\,;:!\n\t\r';
  const unicode = 'éÜßﬁ\u0301٣ΣσİÆ½\u00a0’—Привет日本';
  // ASCII only; mixed; and ASCII with non-ASCII characters now and then, near and far apart (the
  // tokenizer treats stretches around them apart from the rest).
  const cases: [string, number, number][] = [
    [ascii, 0, 200],
    [ascii + unicode, 0.5, 200],
    [ascii, 0.02, 2000],
    [ascii, 0.002, 3000],
  ];
  for (const [alphabet, rate, maxLength] of cases) {
    for (let round = 0; round < 300; round++) {
      let text = '';
      const length = Math.floor(random() * maxLength);
      for (let i = 0; i < length; i++) {
        const from = random() < rate ? unicode : alphabet;
        text += from[Math.floor(random() * from.length)];
      }
      if (random() < 0.2) text += 'q'.repeat(60 + Math.floor(random() * 10));
      t.deepEqual(terms(text).list, reference(text), JSON.stringify(text));
    }
  }
});

test('splitWord gives the parts of a compound in order, a simple word as itself', (t) => {
  t.deepEqual(splitWord('firstname.lastname@example.com'), ['firstname', 'lastname', 'example', 'com']);
  t.deepEqual(splitWord('a-b_c/d\\e'), ['a', 'b', 'c', 'd', 'e']);
  t.deepEqual(splitWord('word'), ['word']);
  t.deepEqual(splitWord('a..b'), ['a', 'b']);
  t.deepEqual(splitWord(''), []);
});
