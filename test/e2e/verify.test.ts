// `coffer verify` end to end against real damage: after the CLI has exited, the test opens the
// LevelDB store with `level`, flips a byte in a stored value or deletes a ref / dedupe-index
// record, and verify must exit 1 naming the damaged message's SHA-256 and its archive/folder/uid,
// while reading a damaged message fails with a clear error instead of printing wrong bytes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  assertRefused,
  cleanMessage,
  cofferJson,
  namesListing,
  openRawStore,
  runCoffer,
  sha256,
  showRaw,
  sublevel,
  tempDir,
  writeFiles,
  type ImportSummary,
  type RawDb,
  type ShowJson,
  type VerifyJson,
} from './helpers.js';

const ARCHIVE = 'vault';

/** A store with three messages in vault/Inbox (UIDs 1-3); returns their SHA-256s in UID order. */
async function storeWithThree(t: ExecutionContext, name: string): Promise<{ dataDir: string; shas: string[]; files: Buffer[] }> {
  const dataDir = await tempDir(t, `${name}-data`);
  const src = await tempDir(t, `${name}-src`);
  await writeFiles(src, { '1.eml': cleanMessage(31), '2.eml': cleanMessage(32), '3.eml': cleanMessage(33) });
  const summary = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', ARCHIVE], { dataDir });
  t.is(summary.archived, 3);
  const files = await Promise.all(['1.eml', '2.eml', '3.eml'].map((f) => readFile(join(src, f))));
  return { dataDir, files, shas: files.map((file) => sha256(file)) };
}

async function withRawStore(t: ExecutionContext, dataDir: string, damage: (db: RawDb) => Promise<void>): Promise<void> {
  const db = await openRawStore(t, dataDir);
  try {
    await damage(db);
  } finally {
    await db.close();
  }
}

async function flipByte(db: RawDb, space: string, key: Buffer): Promise<void> {
  const level = sublevel(db, space);
  const value = await level.get(key);
  if (value === undefined) throw new Error(`no ${space} value for ${key.toString('hex')}`);
  const damaged = Buffer.from(value);
  const at = Math.floor(damaged.length / 2);
  damaged[at] = (damaged[at] ?? 0) ^ 0x5a;
  await level.put(key, damaged);
}

/** The key of a message's content blob: the first 8 bytes of its `message` record (src/store/layout.ts). */
async function blobKeyOf(db: RawDb, sha: Buffer): Promise<Buffer> {
  const record = await sublevel(db, 'message').get(sha);
  if (record === undefined) throw new Error(`no message record for ${sha.toString('hex')}`);
  return record.subarray(0, 8);
}

async function deleteKeyContaining(db: RawDb, space: string, sha: Buffer): Promise<number> {
  const level = sublevel(db, space);
  const doomed: Buffer[] = [];
  for await (const key of level.keys()) if (key.includes(sha)) doomed.push(key);
  for (const key of doomed) await level.del(key);
  return doomed.length;
}

test('a flipped byte in stored content is reported with its sha and listing; show refuses it', async (t) => {
  const { dataDir, shas, files } = await storeWithThree(t, 'blob');
  const sha = shas[1] ?? '';
  await withRawStore(t, dataDir, async (db) => flipByte(db, 'blob', await blobKeyOf(db, Buffer.from(sha, 'hex'))));

  const text = await runCoffer(['verify'], { dataDir });
  t.is(text.code, 1, text.stderr);
  const out = text.stdout.toString('utf8');
  t.true(out.includes(sha), out);
  t.true(out.includes(`${ARCHIVE}/Inbox`) && /uid 2\b/.test(out), out);

  const report = await cofferJson<VerifyJson>(t, ['verify'], { dataDir }, 1);
  t.false(report.ok);
  t.is(report.messages, 3);
  const problems = report.problems.filter((p) => p.sha === sha);
  t.true(problems.length > 0, JSON.stringify(report.problems));
  t.true(
    problems.some((p) => namesListing(p, ARCHIVE, 'Inbox', 2)),
    JSON.stringify(problems),
  );
  // No other message is blamed. (Verify also reports a store-counter mismatch here, because bytes it
  // cannot read are not counted; that problem names no message.)
  t.true(
    report.problems.every((p) => p.sha === undefined || p.sha === sha),
    `only the damaged message is named: ${JSON.stringify(report.problems)}`,
  );

  // Reading the damaged message fails cleanly: exit 1, nothing on stdout, no stack trace.
  const damaged = await runCoffer(['show', ARCHIVE, 'Inbox', '2', '--raw'], { dataDir });
  assertRefused(t, damaged, 1, /^coffer: .+/);
  // The neighbours are intact.
  t.true((await showRaw(t, ARCHIVE, 'Inbox', 3, { dataDir })).equals(files[2] ?? Buffer.alloc(1)));
});

test('a flipped byte in a metadata record is reported with its sha', async (t) => {
  const { dataDir, shas } = await storeWithThree(t, 'meta');
  const sha = shas[2] ?? '';
  await withRawStore(t, dataDir, (db) => flipByte(db, 'message', Buffer.from(sha, 'hex')));

  const report = await cofferJson<VerifyJson>(t, ['verify'], { dataDir }, 1);
  t.false(report.ok);
  t.true(
    report.problems.some((p) => p.sha === sha && namesListing(p, ARCHIVE, 'Inbox', 3)),
    JSON.stringify(report.problems),
  );
  const shown = await runCoffer(['show', ARCHIVE, 'Inbox', '3', '--json'], { dataDir });
  assertRefused(t, shown, 1, /^coffer: .+/);
  // The other messages still show.
  const first = await cofferJson<ShowJson>(t, ['show', ARCHIVE, 'Inbox', '1'], { dataDir });
  t.is(first.sha256, shas[0] ?? '');
});

test('a deleted ref record is reported with its sha and listing', async (t) => {
  const { dataDir, shas } = await storeWithThree(t, 'ref');
  const sha = shas[0] ?? '';
  let deleted = 0;
  await withRawStore(t, dataDir, async (db) => {
    deleted = await deleteKeyContaining(db, 'ref', Buffer.from(sha, 'hex'));
  });
  t.is(deleted, 1);

  const report = await cofferJson<VerifyJson>(t, ['verify'], { dataDir }, 1);
  t.false(report.ok);
  t.true(
    report.problems.some((p) => p.sha === sha && namesListing(p, ARCHIVE, 'Inbox', 1) && /ref/.test(p.detail)),
    JSON.stringify(report.problems),
  );
});

test('a deleted entrySha (folder dedupe index) record is reported with its sha and listing', async (t) => {
  const { dataDir, shas } = await storeWithThree(t, 'entrysha');
  const sha = shas[2] ?? '';
  let deleted = 0;
  await withRawStore(t, dataDir, async (db) => {
    deleted = await deleteKeyContaining(db, 'entrySha', Buffer.from(sha, 'hex'));
  });
  t.is(deleted, 1);

  const report = await cofferJson<VerifyJson>(t, ['verify'], { dataDir }, 1);
  t.false(report.ok);
  t.true(
    report.problems.some((p) => p.sha === sha && namesListing(p, ARCHIVE, 'Inbox', 3)),
    JSON.stringify(report.problems),
  );
});
