// The store's write path: UID assignment, deduplication, folder hierarchy, counters and the change
// feed, against a real LevelDB in a temporary directory.
import { createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import { ErrorCodes, isCofferError } from '../../../src/errors.js';
import { encodeEntry, encodeMessageMeta } from '../../../src/store/codec.js';
import { Directions, type MessageMeta } from '../../../src/store/records.js';
import { createSealer } from '../../../src/store/sealing.js';
import { openStore, type ArchiveStore } from '../../../src/store/store.js';
import { verifyStore } from '../../../src/store/verify.js';
import type { Placement, PreparedMessage } from '../../../src/store/writer.js';
import { tempDir } from '../helpers.js';

const sealer = createSealer(null);

function prepared(body: string, placements: Omit<Placement, 'direction' | 'internalDate' | 'origin'>[]): PreparedMessage {
  const raw = Buffer.from(`Subject: ${body}\r\n\r\n${body}\r\n`);
  const sha = createHash('sha256').update(raw).digest();
  const meta: MessageMeta = { size: raw.length, priority: 3, attachments: [], problems: [], envelope: [], bodystructure: [] };
  return {
    sha,
    size: raw.length,
    sealedBlob: sealer.seal(raw, sha),
    sealedMeta: sealer.seal(encodeMessageMeta(meta), sha),
    placements: placements.map((p) => ({ ...p, direction: Directions.Received, internalDate: 1, origin: 'test' })),
  };
}

async function withStore(dir: string, run: (store: ArchiveStore) => Promise<void>): Promise<void> {
  const store = await openStore({ dataDir: dir, encryptionKey: null });
  try {
    await run(store);
  } finally {
    await store.close();
  }
}

test('UIDs follow commit order from 1, and a second copy in the same folder is listed once', async (t) => {
  await withStore(tempDir(t), async (store) => {
    const writer = store.getWriter();
    const results = await Promise.all(['a', 'b', 'c'].map((body) => writer.commit(prepared(body, [{ archive: 'x', folder: ['Inbox'] }]))));
    t.deepEqual(results.map((r) => r.placements[0]!.uid), [1, 2, 3]);
    const again = await writer.commit(prepared('b', [{ archive: 'x', folder: ['Inbox'] }]));
    t.false(again.newContent);
    t.false(again.placements[0]!.added);
    t.is(again.placements[0]!.uid, 2);
    const archive = await store.requireArchive('x');
    const [folder] = await store.listFolders(archive.id);
    t.is(folder!.messages, 3);
    t.is(folder!.uidNext, 4);
  });
});

test('the same message in two folders and two archives is stored once and listed in each', async (t) => {
  await withStore(tempDir(t), async (store) => {
    const result = await store.getWriter().commit(prepared('shared', [
      { archive: 'x', folder: ['Inbox'] },
      { archive: 'x', folder: ['Sent'] },
      { archive: 'y', folder: ['Inbox'] },
    ]));
    t.true(result.newContent);
    t.true(result.placements.every((p) => p.added && p.uid === 1));
    const counters = await store.counters();
    t.is(counters.messages, 1);
    t.is((await store.listingsOf(result.sha)).length, 3);
    t.deepEqual(await store.readRaw(result.sha), Buffer.from('Subject: shared\r\n\r\nshared\r\n'));
  });
});

test('the same message twice within one group commit is stored once', async (t) => {
  await withStore(tempDir(t), async (store) => {
    const writer = store.getWriter();
    const [first, second] = await Promise.all([writer.commit(prepared('dup', [{ archive: 'x', folder: ['A'] }])), writer.commit(prepared('dup', [{ archive: 'x', folder: ['A'] }]))]);
    t.true(first!.newContent);
    t.false(second!.newContent);
    t.false(second!.placements[0]!.added);
    t.is((await store.counters()).messages, 1);
  });
});

test('a nested folder creates its ancestors, and UIDVALIDITY strictly increases per folder', async (t) => {
  await withStore(tempDir(t), async (store) => {
    await store.getWriter().commit(prepared('deep', [{ archive: 'x', folder: ['Projects', '2024', 'Q1'] }]));
    await store.getWriter().ensureFolder('x', ['Other']);
    const archive = await store.requireArchive('x');
    const folders = await store.listFolders(archive.id);
    t.deepEqual(folders.map((f) => f.path.join('/')), ['Other', 'Projects', 'Projects/2024', 'Projects/2024/Q1']);
    const validities = [...folders].sort((a, b) => a.id - b.id).map((f) => f.uidValidity);
    for (let i = 1; i < validities.length; i++) t.true(validities[i]! > validities[i - 1]!);
    t.is(folders.find((f) => f.path.length === 3)!.messages, 1);
    t.is(folders.find((f) => f.path.length === 1 && f.path[0] === 'Projects')!.messages, 0);
  });
});

test('UIDs, folder ids and counters continue after reopening: never reused', async (t) => {
  const dir = tempDir(t);
  await withStore(dir, async (store) => {
    for (const body of ['1', '2']) await store.getWriter().commit(prepared(body, [{ archive: 'x', folder: ['Inbox'] }]));
  });
  await withStore(dir, async (store) => {
    const result = await store.getWriter().commit(prepared('3', [{ archive: 'x', folder: ['Inbox'] }, { archive: 'x', folder: ['New'] }]));
    t.is(result.placements[0]!.uid, 3);
    t.is(result.placements[1]!.uid, 1);
    const counters = await store.counters();
    t.is(counters.messages, 3);
    t.is(counters.nextChange, 5);
    t.is(counters.nextFolderId, 3);
  });
});

test('the change feed lists every new listing in commit order, and listeners hear of them', async (t) => {
  await withStore(tempDir(t), async (store) => {
    const heard: number[] = [];
    const docIds: number[] = [];
    store.getWriter().onCommit((group) => {
      heard.push(...group.listings.map((l) => l.uid));
      docIds.push(...group.contents.map((c) => c.docId));
    });
    await Promise.all(['p', 'q', 'r'].map((body) => store.getWriter().commit(prepared(body, [{ archive: 'x', folder: ['Inbox'] }]))));
    await store.getWriter().commit(prepared('p', [{ archive: 'x', folder: ['Inbox'] }]));
    const changes = [];
    for await (const change of store.changes()) changes.push([change.seq, change.uid]);
    t.deepEqual(changes, [[1, 1], [2, 2], [3, 3]]);
    t.deepEqual(heard, [1, 2, 3]);
    t.deepEqual(docIds, [1, 2, 3], 'new content is announced once, under sequential blob ids');
  });
});

test('a listing removed from a folder: counts, change feed and removal mark; the content stays; verify agrees', async (t) => {
  await withStore(tempDir(t), async (store) => {
    const writer = store.getWriter();
    const heard: unknown[] = [];
    writer.onCommit((group) => heard.push(...group.unlistings));
    const moved = prepared('moved', [{ archive: 'x', folder: ['Inbox'] }, { archive: 'x', folder: ['Projects'] }]);
    await writer.commit(prepared('kept', [{ archive: 'x', folder: ['Inbox'] }]));
    await writer.commit(moved);
    t.true(await writer.unlist({ archive: 'x', folder: ['Inbox'], sha: moved.sha }));
    t.false(await writer.unlist({ archive: 'x', folder: ['Inbox'], sha: moved.sha }), 'gone already');
    t.false(await writer.unlist({ archive: 'x', folder: ['Nowhere'], sha: moved.sha }));
    t.false(await writer.unlist({ archive: 'nobody', folder: ['Inbox'], sha: moved.sha }));
    t.is((await store.listArchives()).length, 1, 'an unlisting creates no archive or folder');

    const inbox = (await store.getFolder(1, ['Inbox']))!;
    t.like(inbox, { messages: 1, bytes: prepared('kept', []).size, uidNext: 4 }, 'the removal took UID 3 as its mark');
    t.deepEqual(await store.folderUids(inbox.id), [1]);
    t.deepEqual(await store.unlistedSince(inbox.id, 0), [{ mark: 3, uid: 2 }]);
    t.deepEqual(await store.unlistedSince(inbox.id, 3), []);
    t.deepEqual((await store.listingsOf(moved.sha)).map((l) => l.folderId), [(await store.getFolder(1, ['Projects']))!.id]);
    t.truthy(await store.getMessage(moved.sha), 'the content stays stored');
    const changes = [];
    for await (const change of store.changes()) changes.push([change.folderId, change.uid, change.removed]);
    t.deepEqual(changes.at(-1), [inbox.id, 2, true]);
    t.like(heard[0], { folderId: inbox.id, uid: 2, mark: 3 });

    // Listed again later: a new UID, above the mark.
    const again = await writer.commit(prepared('moved', [{ archive: 'x', folder: ['Inbox'] }]));
    t.is(again.placements[0]!.uid, 4);
    t.deepEqual((await verifyStore(store)).problems, []);
  });
});

test('verify reports a removal record whose listing is still there', async (t) => {
  await withStore(tempDir(t), async (store) => {
    const writer = store.getWriter();
    const moved = prepared('moved', [{ archive: 'x', folder: ['Inbox'] }]);
    await writer.commit(moved);
    const [entry] = await store.getEntries([{ folderId: 1, uid: 1 }]);
    await writer.unlist({ archive: 'x', folder: ['Inbox'], sha: moved.sha });
    // Damage: the listing comes back without its records.
    await store.keyspacesForVerification().entry.put(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), encodeEntry(entry!));
    const details = (await verifyStore(store)).problems.map((p) => p.detail);
    t.true(details.includes('listing still present after its removal record'), details.join('; '));
  });
});

test('an encrypted store refuses to open without its key or with another key', async (t) => {
  const dir = tempDir(t);
  const key = randomBytes(32);
  const store = await openStore({ dataDir: dir, encryptionKey: key });
  await store.close();
  const missing = await t.throwsAsync(openStore({ dataDir: dir, encryptionKey: null }));
  t.true(isCofferError(missing, ErrorCodes.KeyMissing));
  const wrong = await t.throwsAsync(openStore({ dataDir: dir, encryptionKey: randomBytes(32) }));
  t.true(isCofferError(wrong, ErrorCodes.KeyMismatch));
  const reopened = await openStore({ dataDir: dir, encryptionKey: key });
  await reopened.close();
  t.pass();
});

test('a store already open elsewhere is reported as in use', async (t) => {
  const dir = tempDir(t);
  const store = await openStore({ dataDir: dir, encryptionKey: null });
  try {
    const err = await t.throwsAsync(openStore({ dataDir: dir, encryptionKey: null }));
    t.true(isCofferError(err, ErrorCodes.StoreLocked));
  } finally {
    await store.close();
  }
});
