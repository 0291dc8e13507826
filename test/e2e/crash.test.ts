// Crash safety end to end: an mbox import of 20,000 messages is killed with SIGKILL part-way; the
// store must still open and verify, and re-running the import must complete it with every message
// stored once, UIDs assigned in mbox order without gaps or reuse, and UIDNEXT one past the last.
// The search index, written after the store and not fsync'd, catches up with the store on the next
// open: every stored message is found, and a rebuild from the store answers the same.
// The kill is triggered by the store growing on disk (a bounded poll), never by a timer.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import {
  cofferJson,
  finished,
  runCoffer,
  sha256,
  spawnCoffer,
  storeBytesOnDisk,
  tempDir,
  type FoldersReport,
  type ImportSummary,
  type SearchJson,
  type ShowJson,
  type StatsReport,
  type VerifyJson,
} from './helpers.js';

const COUNT = 20_000;
/** Kill once this much has been committed: a few hundred messages, a few percent of the import. */
const KILL_AFTER_BYTES = 200 * 1024;
const POLL_MS = 50;
const MAX_POLLS = 600;

function crashMessage(i: number): string {
  return [
    `From: Sender ${i} <sender${i}@example.com>`,
    'To: Crash Test <crash@example.com>',
    `Subject: crash test message ${i}`,
    `Date: Tue, 2 Jan 2024 ${String(Math.floor(i / 3600) % 24).padStart(2, '0')}:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} +0000`,
    `Message-ID: <crash-${i}@example.com>`,
    '',
    `Body of message ${i}: ${'lorem ipsum '.repeat(1 + (i % 7))}`,
    '',
  ].join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('an import killed with SIGKILL leaves a sound store; re-running completes it exactly once', async (t) => {
  const dataDir = await tempDir(t, 'crash-data');
  const src = await tempDir(t, 'crash-src');
  const messages = Array.from({ length: COUNT }, (_, i) => crashMessage(i));
  const mbox = join(src, 'big.mbox');
  await writeFile(mbox, messages.map((m, i) => `From sender${i}@example.com Tue Jan  2 00:00:00 2024\n${m}\n`).join(''));
  const shaOf = (i: number): string => sha256(messages[i] ?? '');

  // 1. Start the import and kill it once it has committed some batches.
  const child = spawnCoffer(['import', 'mbox', mbox, '--archive', 'crash', '--json'], { dataDir });
  const done = finished(child);
  let exited = false;
  void done.then(() => {
    exited = true;
  });
  let polls = 0;
  let onDisk = 0;
  while (polls < MAX_POLLS && !exited) {
    onDisk = await storeBytesOnDisk(dataDir);
    if (onDisk >= KILL_AFTER_BYTES) break;
    await sleep(POLL_MS);
    polls += 1;
  }
  t.false(exited, 'the import finished before it could be killed: generate more messages');
  t.true(onDisk >= KILL_AFTER_BYTES, `store reached only ${onDisk} bytes after ${polls} polls`);
  child.kill('SIGKILL');
  const killed = await done;
  t.is(killed.signal, 'SIGKILL', `import exited on its own with code ${String(killed.code)}: ${killed.stderr}`);

  // 2. The store opens and is consistent; it holds a prefix of the mbox, in order.
  const afterKill = await cofferJson<VerifyJson>(t, ['verify'], { dataDir });
  t.true(afterKill.ok, JSON.stringify(afterKill.problems.slice(0, 5)));
  const partial = await cofferJson<StatsReport>(t, ['stats'], { dataDir });
  const stored = partial.messages;
  t.log(`killed after ${polls} polls with ${onDisk} bytes on disk: ${stored} of ${COUNT} messages stored`);
  t.true(stored > 0 && stored < COUNT, `killed mid-way: ${stored} of ${COUNT} stored`);
  t.is(afterKill.messages, stored);
  t.is(afterKill.listings, stored);
  const partialFolders = await cofferJson<FoldersReport>(t, ['folders', 'crash'], { dataDir });
  const partialInbox = partialFolders.folders.find((f) => f.path === 'Inbox');
  t.is(partialInbox?.messages, stored);
  t.is(partialInbox?.uidNext, stored + 1, 'no UID was consumed by the lost batch');
  const lastBefore = await cofferJson<ShowJson>(t, ['show', 'crash', 'Inbox', String(stored)], { dataDir });
  t.is(lastBefore.sha256, shaOf(stored - 1), 'the stored messages are the first ones of the mbox');

  // The index catches up: every listing the store holds is found, by text too.
  const afterKillSearch = await cofferJson<SearchJson>(t, ['search', '', '--limit', '1'], { dataDir });
  t.is(afterKillSearch.total, stored);
  t.is((await cofferJson<SearchJson>(t, ['search', 'subject:"crash test message"', '--limit', '0'], { dataDir })).total, stored);
  t.is((await cofferJson<SearchJson>(t, ['search', `sender${stored - 1}@example.com`], { dataDir })).results[0]?.uid, stored);

  // 3. Re-run to completion.
  const rerun = await cofferJson<ImportSummary>(t, ['import', 'mbox', mbox, '--archive', 'crash'], { dataDir });
  t.is(rerun.failed, 0, JSON.stringify(rerun.failures.slice(0, 5)));
  t.is(rerun.unparseable, 0);
  t.is(rerun.alreadyArchived, stored);
  t.is(rerun.archived, COUNT - stored);
  t.is(rerun.archived + rerun.alreadyArchived, COUNT);

  const stats = await cofferJson<StatsReport>(t, ['stats'], { dataDir });
  t.is(stats.messages, COUNT, 'every message stored exactly once');
  t.deepEqual(
    stats.archives.map((a) => [a.name, a.messages]),
    [['crash', COUNT]],
  );
  const folders = await cofferJson<FoldersReport>(t, ['folders', 'crash'], { dataDir });
  t.is(folders.folders.length, 1);
  t.is(folders.folders[0]?.messages, COUNT);
  t.is(folders.folders[0]?.uidNext, COUNT + 1);
  t.is(folders.folders[0]?.uidValidity, partialInbox?.uidValidity, 'UIDVALIDITY kept across the crash');

  // UIDs before the crash kept their messages; the re-run continued right after them.
  for (const uid of [1, stored, stored + 1, COUNT]) {
    const shown = await cofferJson<ShowJson>(t, ['show', 'crash', 'Inbox', String(uid)], { dataDir });
    t.is(shown.sha256, shaOf(uid - 1), `uid ${uid}`);
  }
  const beyond = await runCoffer(['show', 'crash', 'Inbox', String(COUNT + 1)], { dataDir });
  t.is(beyond.code, 1);

  const report = await cofferJson<VerifyJson>(t, ['verify'], { dataDir });
  t.true(report.ok, JSON.stringify(report.problems.slice(0, 5)));
  t.is(report.messages, COUNT);
  t.is(report.listings, COUNT);

  // The index after the crash, catch-up and re-run answers exactly like one rebuilt from the store.
  const queries = ['', 'lorem', '"ipsum lorem"', 'sender12*', '*@example.com', 'crash -lorem', 'subject:message'];
  const answers = async (): Promise<unknown[]> => {
    const all: unknown[] = [];
    // One at a time: each command opens the store, which one process may hold.
    for (const query of queries) all.push(await cofferJson<SearchJson>(t, ['search', query, '--limit', '20'], { dataDir }));
    return all;
  };
  const incremental = await answers();
  t.is((incremental[0] as SearchJson).total, COUNT);
  const reindexed = await cofferJson<{ messages: number; listings: number }>(t, ['reindex', '--json'], { dataDir });
  t.deepEqual([reindexed.messages, reindexed.listings], [COUNT, COUNT]);
  t.deepEqual(await answers(), incremental);
});
