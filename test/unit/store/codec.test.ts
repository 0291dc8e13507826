import test from 'ava';
import { analyzeMessage } from '../../../src/mime/analyze.js';
import { decodeEntry, decodeMessageMeta, encodeEntry, encodeMessageMeta } from '../../../src/store/codec.js';
import { Directions } from '../../../src/store/records.js';
import { message } from '../helpers.js';

test('message metadata round-trips with the Buffers inside ENVELOPE and BODYSTRUCTURE intact', (t) => {
  const { meta } = analyzeMessage(message({ subject: '=?utf-8?q?M=C3=BCller?=' }));
  const decoded = decodeMessageMeta(encodeMessageMeta(meta));
  t.deepEqual(decoded, meta);
  t.true(Buffer.isBuffer(decoded.envelope[1]));
  t.is((decoded.envelope[1] as Buffer).toString(), 'Müller');
});

test('an explicit Sender and Reply-To different from From survive the compact envelope', (t) => {
  const raw = message({ extra: 'Sender: Secretary <sec@example.com>\r\nReply-To: List <list@example.net>' });
  const { meta } = analyzeMessage(raw);
  const decoded = decodeMessageMeta(encodeMessageMeta(meta));
  t.deepEqual(decoded.envelope, meta.envelope);
  t.notDeepEqual(decoded.envelope[3], decoded.envelope[2]);
});

test('a message without From keeps null sender and reply-to', (t) => {
  const { meta } = analyzeMessage(Buffer.from('Subject: no from\r\n\r\nbody\r\n'));
  t.is(meta.envelope[2], null);
  t.deepEqual(decodeMessageMeta(encodeMessageMeta(meta)).envelope, meta.envelope);
});

test('entry records round-trip', (t) => {
  const entry = { sha: Buffer.alloc(32, 7), archivedAt: 1_700_000_000_123, internalDate: 1_600_000_000_000, direction: Directions.Sent, origin: '/mail/a.eml' };
  t.deepEqual(decodeEntry(encodeEntry(entry)), entry);
  t.is(decodeEntry(encodeEntry({ ...entry, direction: Directions.Received })).direction, Directions.Received);
});
