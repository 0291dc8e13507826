import test from 'ava';
import { randomBytes } from 'node:crypto';
import { sortedBinary } from '../../../src/search/postings.js';
import { TimeSlice } from '../../../src/search/time-slice.js';

test('sortedBinary orders binary strings as their bytes compare, across buckets, the empty string first', async (t) => {
  const terms = ['', 'b', 'a', '\u00ff', 'ab', '\u0080z', 'a\u0000', 'ba'];
  for (let i = 0; i < 20_000; i++) terms.push(randomBytes(1 + (i % 9)).toString('latin1'));
  const order = await sortedBinary(terms, new TimeSlice());
  t.is(order.length, terms.length);
  t.is(new Set(order).size, terms.length, 'every index once');
  const expected = terms.map((term) => Buffer.from(term, 'latin1')).sort(Buffer.compare);
  t.deepEqual(
    order.map((i) => terms[i]),
    expected.map((bytes) => bytes.toString('latin1')),
  );
});

test('sortedBinary gives the event loop turns while it sorts a large segment', async (t) => {
  const terms = Array.from({ length: 300_000 }, () => randomBytes(12).toString('latin1'));
  let turns = 0;
  let counting = true;
  const count = (): void => {
    if (!counting) return;
    turns++;
    setImmediate(count);
  };
  setImmediate(count);
  await sortedBinary(terms, new TimeSlice());
  counting = false;
  t.true(turns > 1, `${turns} turns`);
});
