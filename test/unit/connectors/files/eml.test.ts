import test from 'ava';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmlSource } from '../../../../src/connectors/files/index.js';
import { isCofferError, ErrorCodes } from '../../../../src/errors.js';
import { collect, failures, messages, tempDir } from './helpers.js';

const MSG = (n: number): Buffer => Buffer.from(`From: a@example.com\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n`);

async function tree(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t, 'eml');
  await mkdir(join(dir, 'a', 'b'), { recursive: true });
  await mkdir(join(dir, '.hidden'));
  await writeFile(join(dir, '2.eml'), MSG(2));
  await writeFile(join(dir, '1.eml'), MSG(1));
  await writeFile(join(dir, '.DS_Store'), 'junk');
  await writeFile(join(dir, '.hidden', 'x.eml'), MSG(9));
  await writeFile(join(dir, 'a', '3.eml'), MSG(3));
  await writeFile(join(dir, 'a', 'b', '4.eml'), MSG(4));
  return dir;
}

test('non-recursive: files of the directory only, sorted, hidden skipped', async (t) => {
  const dir = await tree(t);
  const source = createEmlSource(dir, { recursive: false });
  const items = messages(await collect(source));
  t.deepEqual(items.map((m) => m.origin), [join(dir, '1.eml'), join(dir, '2.eml')]);
  t.deepEqual(items.map((m) => m.folder), [[], []]);
  t.deepEqual(items[0]?.raw, MSG(1));
  t.is(await source.totalBytes(), MSG(1).length + MSG(2).length);
});

test('recursive: subdirectories become folders', async (t) => {
  const dir = await tree(t);
  const source = createEmlSource(dir, { recursive: true });
  const items = await collect(source);
  t.is(failures(items).length, 0);
  t.deepEqual(
    messages(items).map((m) => [m.origin, m.folder]),
    [
      [join(dir, '1.eml'), []],
      [join(dir, '2.eml'), []],
      [join(dir, 'a', '3.eml'), ['a']],
      [join(dir, 'a', 'b', '4.eml'), ['a', 'b']],
    ],
  );
  t.deepEqual(messages(items)[3]?.raw, MSG(4));
  const total = await source.totalBytes();
  t.is(total, [1, 2, 3, 4].reduce((sum, n) => sum + MSG(n).length, 0));
  t.is(items.reduce((sum, item) => sum + item.bytes, 0), total);
});

test('a single file path is accepted', async (t) => {
  const dir = await tree(t);
  const file = join(dir, 'a', '3.eml');
  const items = messages(await collect(createEmlSource(file, { recursive: true })));
  t.is(items.length, 1);
  t.is(items[0]?.origin, file);
  t.deepEqual(items[0]?.folder, []);
  t.deepEqual(items[0]?.raw, MSG(3));
});

test('a leading mbox postmark line is stripped (LF and CRLF), the rest kept byte for byte', async (t) => {
  const dir = await tempDir(t, 'eml');
  const lf = 'Return-Path: <x@example.com>\nSubject: lf\n\nFrom here on\n';
  const crlf = 'Subject: crlf\r\n\r\nbody\r\n';
  await writeFile(join(dir, 'lf.eml'), `From x@example.com  Thu Aug 22 12:36:23 2002\n${lf}`);
  await writeFile(join(dir, 'crlf.eml'), `From MAILER-DAEMON Fri Jul  8 12:08:34 2011\r\n${crlf}`);
  await writeFile(join(dir, 'header.eml'), 'From: a@example.com\n\nx\n'); // a header, not a postmark
  const items = messages(await collect(createEmlSource(dir, { recursive: false })));
  const byName = new Map(items.map((m) => [m.origin.slice(dir.length + 1), m]));
  t.is(byName.get('lf.eml')?.raw.toString(), lf);
  t.is(byName.get('lf.eml')?.receivedAt?.toISOString(), '2002-08-22T12:36:23.000Z');
  t.is(byName.get('lf.eml')?.bytes, Buffer.byteLength(`From x@example.com  Thu Aug 22 12:36:23 2002\n${lf}`));
  t.is(byName.get('crlf.eml')?.raw.toString(), crlf);
  t.is(byName.get('crlf.eml')?.receivedAt?.toISOString(), '2011-07-08T12:08:34.000Z');
  t.is(byName.get('header.eml')?.raw.toString(), 'From: a@example.com\n\nx\n');
  t.is(byName.get('header.eml')?.receivedAt, undefined);
});

test('empty and binary files pass through untouched', async (t) => {
  const dir = await tempDir(t, 'eml');
  const binary = Buffer.alloc(4096);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 131 + 7) & 0xff;
  await writeFile(join(dir, 'binary.bin'), binary);
  await writeFile(join(dir, 'empty.eml'), Buffer.alloc(0));
  const items = messages(await collect(createEmlSource(dir, { recursive: false })));
  t.is(items.length, 2);
  t.deepEqual(items[0]?.raw, binary);
  t.is(items[0]?.bytes, 4096);
  t.is(items[1]?.raw.length, 0);
  t.is(items[1]?.bytes, 0);
});

test('an unreadable entry becomes a failure and the rest continue', async (t) => {
  const dir = await tempDir(t, 'eml');
  await writeFile(join(dir, '1.eml'), MSG(1));
  await symlink(join(dir, 'does-not-exist'), join(dir, '2.eml'));
  await writeFile(join(dir, '3.eml'), MSG(3));
  const items = await collect(createEmlSource(dir, { recursive: false }));
  t.deepEqual(items.map((i) => i.kind), ['message', 'failure', 'message']);
  const failure = failures(items)[0];
  t.is(failure?.origin, join(dir, '2.eml'));
  t.true(isCofferError(failure?.error, ErrorCodes.SourceUnreadable));
  t.is((failure?.error.cause as NodeJS.ErrnoException | undefined)?.code, 'ENOENT');
  t.deepEqual(messages(items)[1]?.raw, MSG(3));
});

test('a missing directory is one failure', async (t) => {
  const dir = await tempDir(t, 'eml');
  const items = await collect(createEmlSource(join(dir, 'nope'), { recursive: true }));
  t.is(items.length, 1);
  t.is(items[0]?.kind, 'failure');
});
