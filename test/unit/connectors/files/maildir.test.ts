import test from 'ava';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMaildirSource } from '../../../../src/connectors/files/index.js';
import { isCofferError, ErrorCodes } from '../../../../src/errors.js';
import { collect, failures, messages, tempDir } from './helpers.js';

const MSG = (name: string): Buffer => Buffer.from(`Subject: ${name}\r\n\r\nbody\r\n`);

/** Creates dir/{cur,new,tmp} and the given message files ('cur/x' or 'new/x'). */
async function folder(dir: string, files: readonly string[]): Promise<void> {
  for (const part of ['cur', 'new', 'tmp']) await mkdir(join(dir, part), { recursive: true });
  for (const file of files) await writeFile(join(dir, file), MSG(file));
}

async function maildir(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const root = await tempDir(t, 'maildir');
  await folder(root, ['new/1700000002.M2.host', 'cur/1700000001.M1.host:2,S', 'cur/1700000003.M3.host:2,']);
  await writeFile(join(root, 'tmp', 'in-progress'), 'partial');
  // Dovecot and Courier metadata: never messages.
  for (const file of ['dovecot-uidlist', 'dovecot.index', 'dovecot.index.log', 'subscriptions', 'dovecot-keywords']) {
    await writeFile(join(root, file), 'meta');
  }
  await writeFile(join(root, 'cur', '.hidden'), 'not a message');
  // Maildir++ folders, one with a modified UTF-7 name.
  await folder(join(root, '.Work'), ['cur/1700000010.W.host:2,S']);
  await writeFile(join(root, '.Work', 'maildirfolder'), '');
  await folder(join(root, '.Work.Projects'), ['new/1700000011.P.host']);
  await folder(join(root, '.Entw&APw-rfe'), ['cur/1700000012.E.host:2,D']);
  // A hidden directory that is not a Maildir++ folder.
  await mkdir(join(root, '.cache'));
  await writeFile(join(root, '.cache', 'x'), 'x');
  // Filesystem layout: Archive/2023 below a \Noselect Archive without cur/new.
  await folder(join(root, 'Archive', '2023'), ['cur/1700000020.A.host:2,S']);
  await folder(join(root, 'Archive', '2023', '.Q1'), ['cur/1700000021.Q.host:2,S']);
  await folder(join(root, 'Gel&APY-scht'), ['new/1700000030.G.host']);
  return root;
}

test('messages of the root and of Maildir++ and filesystem-layout subfolders', async (t) => {
  const root = await maildir(t);
  const source = createMaildirSource(root);
  const items = await collect(source);
  t.deepEqual(failures(items), []);
  t.deepEqual(
    messages(items).map((m) => [m.origin.slice(root.length + 1), m.folder]),
    [
      ['cur/1700000001.M1.host:2,S', []],
      ['new/1700000002.M2.host', []],
      ['cur/1700000003.M3.host:2,', []],
      ['.Entw&APw-rfe/cur/1700000012.E.host:2,D', ['Entwürfe']],
      ['.Work/cur/1700000010.W.host:2,S', ['Work']],
      ['.Work.Projects/new/1700000011.P.host', ['Work', 'Projects']],
      ['Archive/2023/cur/1700000020.A.host:2,S', ['Archive', '2023']],
      ['Archive/2023/.Q1/cur/1700000021.Q.host:2,S', ['Archive', '2023', 'Q1']],
      ['Gel&APY-scht/new/1700000030.G.host', ['Gelöscht']],
    ],
  );
  for (const m of messages(items)) t.deepEqual(m.raw, MSG(m.origin.split('/').slice(-2).join('/')));
  const total = await source.totalBytes();
  t.is(total, items.reduce((sum, item) => sum + item.bytes, 0));
});

test('receivedAt is the file mtime', async (t) => {
  const root = await tempDir(t, 'maildir');
  await folder(root, ['cur/1.a']);
  const when = new Date('2015-06-01T10:00:00Z');
  await utimes(join(root, 'cur', '1.a'), when, when);
  const [m] = messages(await collect(createMaildirSource(root)));
  t.is(m?.receivedAt?.toISOString(), when.toISOString());
});

test('unreadable entries in cur/ become failures and the rest continue', async (t) => {
  const root = await tempDir(t, 'maildir');
  await folder(root, ['cur/1.a', 'cur/4.d']);
  await mkdir(join(root, 'cur', '2.b')); // a directory named like a message
  await symlink(join(root, 'gone'), join(root, 'cur', '3.c')); // a dangling symlink
  const items = await collect(createMaildirSource(root));
  t.deepEqual(items.map((i) => [i.kind, i.origin.slice(root.length + 1)]), [
    ['message', 'cur/1.a'],
    ['failure', 'cur/2.b'],
    ['failure', 'cur/3.c'],
    ['message', 'cur/4.d'],
  ]);
  for (const f of failures(items)) t.true(isCofferError(f.error, ErrorCodes.SourceUnreadable));
  t.is((failures(items)[1]?.error.cause as NodeJS.ErrnoException | undefined)?.code, 'ENOENT');
});

test('a folder with only new/ is read; a directory without any Maildir is one failure', async (t) => {
  const root = await tempDir(t, 'maildir');
  await mkdir(join(root, 'new'));
  await writeFile(join(root, 'new', 'x'), MSG('x'));
  const ok = await collect(createMaildirSource(root));
  t.deepEqual(ok.map((i) => i.kind), ['message']);

  const empty = await tempDir(t, 'maildir');
  await writeFile(join(empty, 'a.eml'), MSG('a'));
  const items = await collect(createMaildirSource(empty));
  t.is(items.length, 1);
  t.is(items[0]?.kind, 'failure');
  t.regex(failures(items)[0]?.error.message ?? '', /not a Maildir/);

  const missing = await collect(createMaildirSource(join(empty, 'nope')));
  t.deepEqual(missing.map((i) => i.kind), ['failure']);
});
