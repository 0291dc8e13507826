import test from 'ava';
import { encodeDocTerms } from '../../../src/search/doc-terms.js';
import type { SearchText } from '../../../src/search/extract.js';
import { ANY_FIELD_MASK, fieldMask, fieldNumber, positionField } from '../../../src/search/fields.js';
import { IMAP_FIELDS, TEXT_FIELDS } from '../../../src/search/query.js';
import { ByteReader } from '../../../src/search/bytes.js';

const text = (overrides: Partial<SearchText>): SearchText => ({
  subject: '', from: '', to: '', cc: '', bcc: '', messageId: '', body: '', attachmentNames: [], attachmentContent: '', imapTerms: new Map(),
  ...overrides,
});

/** term → { mask, positions } of an encoded document. */
function decode(encoded: Buffer): Map<string, { mask: number; positions: number[] }> {
  const reader = new ByteReader(encoded);
  const terms = new Map<string, { mask: number; positions: number[] }>();
  for (let left = reader.varint(); left > 0; left--) {
    const length = reader.varint();
    const term = encoded.toString('utf8', reader.offset, reader.offset + length);
    reader.offset += length;
    const mask = reader.varint();
    const positions: number[] = [];
    let position = 0;
    for (let count = reader.varint(); count > 0; count--) positions.push((position += reader.varint()));
    terms.set(term, { mask, positions });
  }
  if (!reader.done) throw new Error('trailing bytes after the last term');
  return terms;
}

test('every field has its own bit, and the quick search covers exactly the text fields', (t) => {
  const numbers = [...TEXT_FIELDS, ...IMAP_FIELDS].map((field) => fieldNumber(field));
  t.is(new Set(numbers).size, numbers.length);
  t.true(numbers.every((n) => Number.isInteger(n) && n >= 0 && n < 31));
  t.is(ANY_FIELD_MASK, fieldMask([...TEXT_FIELDS]));
  for (const field of IMAP_FIELDS) t.is(ANY_FIELD_MASK & (1 << fieldNumber(field)), 0);
});

test('the commonest masks fit one varint byte', (t) => {
  t.true(fieldMask(['body', 'imap-body']) < 0x80);
  t.true(fieldMask(['imap-header']) < 0x80);
  t.true(fieldMask(['acontent', 'imap-body']) < 0x80);
});

test('a word in every text field: one mask with all their bits, positions ascending field by field', (t) => {
  const encoded = encodeDocTerms(
    text({ body: 'word', subject: 'word', from: 'word', to: 'word', cc: 'word', bcc: 'word', attachmentContent: 'word', attachmentNames: ['word'], messageId: 'word', imapTerms: new Map([['word', 1 << fieldNumber('imap-body')]]) }),
  );
  const word = decode(encoded).get('word');
  t.truthy(word);
  t.is(word!.mask, ANY_FIELD_MASK | (1 << fieldNumber('imap-body')));
  t.deepEqual(word!.positions.map(positionField), [...TEXT_FIELDS].map((field) => fieldNumber(field)).sort((a, b) => a - b));
  for (let i = 1; i < word!.positions.length; i++) t.true(word!.positions[i]! > word!.positions[i - 1]!);
});

test('IMAP-only terms have their IMAP bits and no positions; shared terms merge masks', (t) => {
  const header = 1 << fieldNumber('imap-header');
  const body = 1 << fieldNumber('imap-body');
  const terms = decode(encodeDocTerms(text({ body: 'hello world', imapTerms: new Map([['hello', body], ['esmtp', header], ['héllo', body]]) })));
  t.deepEqual(terms.get('esmtp'), { mask: header, positions: [] });
  t.deepEqual(terms.get('héllo'), { mask: body, positions: [] });
  t.is(terms.get('hello')!.mask, (1 << fieldNumber('body')) | body);
  t.deepEqual(terms.get('world')!.positions.map(positionField), [fieldNumber('body')]);
});
