import test from 'ava';
import { TermTable } from '../../../src/search/term-table.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

test('the same bytes get the same id wherever they sit; different bytes get different ids', (t) => {
  const table = new TermTable();
  const first = bytes('xx hello world');
  const second = bytes('hello!');
  const hello = table.intern(first, 3, 5);
  const world = table.intern(first, 9, 5);
  t.not(hello, world);
  t.is(table.intern(second, 0, 5), hello);
  t.is(table.intern(bytes('hell'), 0, 4), 2, 'a prefix of a known term is a term of its own');
  t.is(table.size, 3);
  t.is(table.term(hello), 'hello');
  t.is(table.term(world), 'world');
});

test('terms come back as binary strings of their UTF-8 bytes, the empty term included', (t) => {
  const table = new TermTable();
  const word = bytes('grüße');
  const id = table.intern(word, 0, word.length);
  t.is(table.term(id), word.toString('latin1'));
  const empty = table.intern(word, 2, 0);
  t.is(table.term(empty), '');
  t.is(table.intern(bytes('x'), 1, 0), empty);
});

test('a hundred thousand distinct terms survive every rehash and arena growth with their ids', (t) => {
  const table = new TermTable();
  // Long and short terms, so that both the slot table and the byte arena (1 MB at first) grow.
  const terms = Array.from({ length: 100_000 }, (_, i) => (i % 7 === 0 ? `${'long'.repeat(8)}-${i}` : `t${i}`));
  const ids = terms.map((term) => {
    const encoded = bytes(term);
    return table.intern(encoded, 0, encoded.length);
  });
  t.deepEqual(ids, terms.map((_, i) => i));
  t.is(table.size, terms.length);
  for (let i = 0; i < terms.length; i += 997) {
    const encoded = bytes(`..${terms[i]!}..`);
    t.is(table.intern(encoded, 2, encoded.length - 4), i);
    t.is(table.term(i), terms[i]!);
  }
  t.is(table.size, terms.length, 'looking terms up again adds none');
});
