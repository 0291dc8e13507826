import test from 'ava';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createMboxSource, parsePostmarkDate } from '../../../../src/connectors/files/index.js';
import { isCofferError, ErrorCodes } from '../../../../src/errors.js';
import { collect, failures, messages, tempDir } from './helpers.js';

// Three messages: one with mboxrd-quoted lines, one with CRLF line endings, one that ends the file.
const POSTMARK_1 = 'From a@example.com Fri Jul  8 12:08:34 2011\n';
const BODY_1 = 'Subject: one\n\nbody one\nFrom the start\n>From nested\nFrom not after a blank line\n';
const QUOTED_1 = 'Subject: one\n\nbody one\n>From the start\n>>From nested\nFrom not after a blank line\n';
const POSTMARK_2 = 'From b@example.com Sat Jan  1 00:00:00 2000\r\n';
const BODY_2 = 'Subject: two\r\n\r\nbody two\r\nends with a blank line\r\n\r\n';
const POSTMARK_3 = 'From c@example.com Sun Feb 29 23:59:59 2004\n';
const BODY_3 = 'Subject: three\n\nlast line\n';
const ITEM_1 = `${POSTMARK_1}${QUOTED_1}\n`;
const ITEM_2 = `${POSTMARK_2}${BODY_2}\r\n`;
const ITEM_3 = `${POSTMARK_3}${BODY_3}\n`;
const MBOX = ITEM_1 + ITEM_2 + ITEM_3;

const lines = (s: string): number => s.split('\n').length - 1;

for (const chunkSize of [undefined, 1, 2, 3, 5, 7, 64]) {
  test(`three messages split exactly (chunk size ${chunkSize ?? 'default'})`, async (t) => {
    const dir = await tempDir(t, 'mbox');
    const file = join(dir, 'inbox.mbox');
    await writeFile(file, MBOX);
    const source = createMboxSource(file, chunkSize === undefined ? {} : { chunkSize });
    const items = await collect(source);
    t.is(failures(items).length, 0);
    const got = messages(items);
    t.is(got.length, 3);
    t.is(got[0]?.raw.toString(), BODY_1);
    t.is(got[1]?.raw.toString(), BODY_2);
    t.is(got[2]?.raw.toString(), BODY_3);
    t.deepEqual(
      got.map((m) => m.origin),
      [`${file}#1 (line 1)`, `${file}#2 (line ${1 + lines(ITEM_1)})`, `${file}#3 (line ${1 + lines(ITEM_1) + lines(ITEM_2)})`],
    );
    t.deepEqual(got.map((m) => m.bytes), [ITEM_1.length, ITEM_2.length, ITEM_3.length]);
    t.is(await source.totalBytes(), MBOX.length);
    t.deepEqual(got.map((m) => m.folder), [[], [], []]);
    t.deepEqual(
      got.map((m) => m.receivedAt?.toISOString()),
      ['2011-07-08T12:08:34.000Z', '2000-01-01T00:00:00.000Z', '2004-02-29T23:59:59.000Z'],
    );
  });
}

test('mboxrd quoting: exactly one > is removed from /^>+From / lines', async (t) => {
  const dir = await tempDir(t, 'mbox');
  const file = join(dir, 'q.mbox');
  await writeFile(file, 'From x Mon Jan  1 00:00:00 2001\nS: q\n\n>From a\n>>From b\n>>>From c\n> From d\n>Fromage\n>From\n');
  const [m] = messages(await collect(createMboxSource(file)));
  t.is(m?.raw.toString(), 'S: q\n\nFrom a\n>From b\n>>From c\n> From d\n>Fromage\n>From\n');
});

test('"From " inside a body without a preceding blank line does not split', async (t) => {
  const dir = await tempDir(t, 'mbox');
  const file = join(dir, 'f.mbox');
  const body = 'Subject: x\n\nparagraph\nFrom the desk of someone\nFrom here too\n';
  await writeFile(file, `From x Mon Jan  1 00:00:00 2001\n${body}`);
  const items = await collect(createMboxSource(file));
  t.is(items.length, 1);
  t.is(messages(items)[0]?.raw.toString(), body);
});

test('only the last blank line before a postmark is the separator', async (t) => {
  const dir = await tempDir(t, 'mbox');
  const file = join(dir, 'b.mbox');
  await writeFile(file, 'From x Mon Jan  1 00:00:00 2001\nS: 1\n\nbody\n\n\n\nFrom y Mon Jan  1 00:00:00 2001\nS: 2\n\nend');
  const got = messages(await collect(createMboxSource(file)));
  t.deepEqual(got.map((m) => m.raw.toString()), ['S: 1\n\nbody\n\n\n', 'S: 2\n\nend']);
  t.is(got[1]?.origin, `${file}#2 (line 8)`);
});

test('a file that does not start with From_ is one failure', async (t) => {
  const dir = await tempDir(t, 'mbox');
  const file = join(dir, 'not.mbox');
  const content = 'Subject: hello\n\nFrom x Mon Jan  1 00:00:00 2001\nbody\n';
  await writeFile(file, content);
  const items = await collect(createMboxSource(file));
  t.is(items.length, 1);
  const failure = failures(items)[0];
  t.is(failure?.origin, `${file} (line 1)`);
  t.is(failure?.error.message, 'not an mbox file: first line is not a From_ separator');
  t.true(isCofferError(failure?.error, ErrorCodes.SourceUnreadable));
  t.is(failure?.bytes, content.length);
});

test('an empty file is an empty mbox; a missing file is a failure', async (t) => {
  const dir = await tempDir(t, 'mbox');
  await writeFile(join(dir, 'empty.mbox'), '');
  t.deepEqual(await collect(createMboxSource(join(dir, 'empty.mbox'))), []);
  const missing = await collect(createMboxSource(join(dir, 'missing.mbox')));
  t.is(missing.length, 1);
  t.is(missing[0]?.kind, 'failure');
  t.is(await createMboxSource(join(dir, 'missing.mbox')).totalBytes(), 0);
});

test('a 5 MB message, with a line longer than a read chunk, is exact', async (t) => {
  const dir = await tempDir(t, 'mbox');
  const file = join(dir, 'big.mbox');
  const line = `${'x'.repeat(74)}\r\n`;
  const huge = Buffer.alloc(3 << 20, 'y').toString(); // 3 MB without a line break
  const big = `Subject: big\r\n\r\n${line.repeat(Math.ceil((2 << 20) / line.length))}${huge}\r\n`;
  const small = 'Subject: small\r\n\r\nhi\r\n';
  const content = `From a Mon Jan  1 00:00:00 2001\r\n${big}\r\nFrom b Mon Jan  1 00:00:00 2001\r\n${small}\r\n`;
  await writeFile(file, content);
  const got = messages(await collect(createMboxSource(file)));
  t.is(got.length, 2);
  t.true(Buffer.from(big).length > 5_000_000);
  t.true(got[0]?.raw.equals(Buffer.from(big)));
  t.is(got[1]?.raw.toString(), small);
  t.is((got[0]?.bytes ?? 0) + (got[1]?.bytes ?? 0), Buffer.byteLength(content));
  t.is(got[1]?.origin, `${file}#2 (line ${Math.ceil((2 << 20) / line.length) + 6})`);
});

// Serial, so that no other test of this file allocates while the peak is measured.
test.serial('2,000 messages of 50 KB stream one at a time', async (t) => {
  const dir = await tempDir(t, 'mbox');
  const file = join(dir, 'many.mbox');
  const count = 2000;
  const filler = `${'z'.repeat(99)}\n`.repeat(500); // 50,000 bytes
  const body = (i: number): string => `Subject: message ${i}\n\n${filler}>From quoted ${i}\nend ${i}\n`;
  const out = createWriteStream(file);
  for (let i = 0; i < count; i++) {
    if (!out.write(`From sender@example.com Mon Jan  1 00:00:00 2001\n${body(i).replace('>From', '>>From')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');

  const source = createMboxSource(file);
  const total = await source.totalBytes();
  t.true(total > 100_000_000);
  let seen = 0;
  let bytes = 0;
  let mismatches = 0;
  let line = 1;
  let badOrigins = 0;
  let peak = 0;
  for await (const item of source.items()) {
    if (item.kind !== 'message') {
      t.fail(item.error.message);
      continue;
    }
    if (!item.raw.equals(Buffer.from(body(seen)))) mismatches++;
    if (item.origin !== `${file}#${seen + 1} (line ${line})`) badOrigins++;
    line += 506;
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    bytes += item.bytes;
    seen++;
  }
  t.is(seen, count);
  t.is(mismatches, 0);
  t.is(badOrigins, 0);
  t.is(bytes, total);
  // Garbage awaiting collection counts too, so the bound is loose; holding the file whole would
  // exceed it on its own.
  t.true(peak < total / 2, `peak ${peak}`);
  t.log(`peak arrayBuffers ${(peak / 1e6).toFixed(1)} MB for a ${(total / 1e6).toFixed(1)} MB file`);
});

test('a consumer may stop early', async (t) => {
  const dir = await tempDir(t, 'mbox');
  const file = join(dir, 'stop.mbox');
  await writeFile(file, MBOX);
  let n = 0;
  for await (const item of createMboxSource(file, { chunkSize: 16 }).items()) {
    t.is(item.kind, 'message');
    if (++n === 1) break;
  }
  t.is(n, 1);
});

test('parsePostmarkDate reads asctime postmarks and rejects bad dates', (t) => {
  const iso = (line: string): string | undefined => parsePostmarkDate(line)?.toISOString();
  t.is(iso('From MAILER-DAEMON Fri Jul  8 12:08:34 2011'), '2011-07-08T12:08:34.000Z');
  t.is(iso('From - Mon Jan 01 00:00:00 2001'), '2001-01-01T00:00:00.000Z');
  t.is(iso('From x@y Fri Jul  8 12:08:34 +0200 2011'), '2011-07-08T10:08:34.000Z');
  t.is(iso('From x@y Fri Jul  8 12:08:34 2011 -0130'), '2011-07-08T13:38:34.000Z');
  t.is(iso('From x@y Fri Jul  8 12:08 PDT 2011'), '2011-07-08T12:08:00.000Z');
  t.is(iso('From x@y Mon Feb 30 12:00:00 2011'), undefined);
  t.is(iso('From x@y Mon Jan  1 25:00:00 2011'), undefined);
  t.is(iso('From x@y'), undefined);
  t.is(iso('From x@y yesterday'), undefined);
});
