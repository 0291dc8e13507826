// The one write path, end to end in-process: worker threads prepare, the writer commits. Checks
// ordering, routing direction, dedupe and that everything committed reads back exactly.
import test from 'ava';
import { createIngestPipeline } from '../../../src/ingest/pipeline.js';
import { defaultWorkerCount } from '../../../src/ingest/worker-pool.js';
import { Directions } from '../../../src/store/records.js';
import { openStore } from '../../../src/store/store.js';
import { verifyStore } from '../../../src/store/verify.js';
import { message, tempDir } from '../helpers.js';

test('messages are committed in submission order whatever the workers timing, and read back byte for byte', async (t) => {
  const store = await openStore({ dataDir: tempDir(t), encryptionKey: null });
  const ingest = createIngestPipeline({ store, addressBook: new Map(), folders: { received: 'Inbox', sent: 'Sent' }, encryptionKey: null, workers: 2 });
  try {
    // Large and small messages interleaved, so workers finish out of order.
    const raws = Array.from({ length: 40 }, (_, i) => message({ messageId: `m${i}@x`, body: i % 3 === 0 ? 'x'.repeat(300_000) : `short ${i}` }));
    const outcomes = await Promise.all(raws.map((raw, i) => ingest.ingest({ raw, origin: `m${i}`, routing: { kind: 'explicit', targets: [{ archive: 'a', folder: ['Inbox'] }] } })));
    t.deepEqual(outcomes.map((o) => o.placements[0]!.uid), raws.map((_, i) => i + 1));
    for (const [i, outcome] of outcomes.entries()) t.deepEqual(await store.readRaw(outcome.sha), raws[i]);
    const report = await verifyStore(store);
    t.deepEqual(report.problems, []);
    t.is(report.messages, 40);
  } finally {
    await ingest.close();
    await store.close();
  }
});

test('handed over, a message owning its memory moves to the worker; a view of a shared block is copied, its neighbours untouched', async (t) => {
  const store = await openStore({ dataDir: tempDir(t), encryptionKey: null });
  const ingest = createIngestPipeline({ store, addressBook: new Map(), folders: { received: 'Inbox', sent: 'Sent' }, encryptionKey: null, workers: 1 });
  const routing = { kind: 'explicit', targets: [{ archive: 'a', folder: ['Inbox'] }] } as const;
  try {
    const large = message({ messageId: 'large@x', body: 'y'.repeat(20_000) });
    const expectedLarge = Buffer.from(large);
    // Two messages side by side in one block of memory (Buffer.alloc: not Node's allocation pool,
    // which Node itself never lets move), as a reader's chunk holds several messages.
    const first = message({ messageId: 'small@x', body: 'short' });
    const second = message({ messageId: 'neighbour@x', body: 'next door' });
    const shared = Buffer.alloc(first.length + second.length);
    first.copy(shared);
    second.copy(shared, first.length);
    const small = shared.subarray(0, first.length);
    const neighbour = shared.subarray(first.length);
    const expectedSmall = Buffer.from(small);
    const expectedNeighbour = Buffer.from(neighbour);

    const a = await ingest.ingest({ raw: large, origin: 'l', routing, handOver: true });
    const b = await ingest.ingest({ raw: small, origin: 's', routing, handOver: true });

    t.is(large.length, 0, 'the large message memory went to the worker');
    t.deepEqual(await store.readRaw(a.sha), expectedLarge);
    t.deepEqual(small, expectedSmall, 'a view of shared memory is copied, not moved');
    t.deepEqual(neighbour, expectedNeighbour);
    t.deepEqual(await store.readRaw(b.sha), expectedSmall);
  } finally {
    await ingest.close();
    await store.close();
  }
});

test('mail from an archive own address is filed as sent, and INTERNALDATE follows the direction', async (t) => {
  const store = await openStore({ dataDir: tempDir(t), encryptionKey: null });
  const addressBook = new Map([['alice', new Set(['alice@example.com'])]]);
  const ingest = createIngestPipeline({ store, addressBook, folders: { received: 'Inbox', sent: 'Sent' }, encryptionKey: null, workers: 1 });
  try {
    const sent = message({ from: 'Alice <ALICE@example.com>', extra: 'Received: by mx; Tue, 02 Jan 2024 08:00:00 +0000' });
    const received = message({ from: 'bob@example.org', extra: 'Received: by mx; Tue, 02 Jan 2024 08:00:00 +0000' });
    const [a, b] = await Promise.all([sent, received].map((raw) => ingest.ingest({ raw, origin: 't', routing: { kind: 'explicit', targets: [{ archive: 'alice', folder: ['Inbox'] }] } })));
    const entryA = await store.getEntry(a!.placements[0]!.folderId, a!.placements[0]!.uid);
    const entryB = await store.getEntry(b!.placements[0]!.folderId, b!.placements[0]!.uid);
    t.is(entryA!.direction, Directions.Sent);
    t.is(entryA!.internalDate, Date.parse('2024-01-01T10:00:00Z'));
    t.is(entryB!.direction, Directions.Received);
    t.is(entryB!.internalDate, Date.parse('2024-01-02T08:00:00Z'));
  } finally {
    await ingest.close();
    await store.close();
  }
});

test('hostile input goes through the pipeline: archived, flagged, readable', async (t) => {
  const store = await openStore({ dataDir: tempDir(t), encryptionKey: null });
  const ingest = createIngestPipeline({ store, addressBook: new Map(), folders: { received: 'Inbox', sent: 'Sent' }, encryptionKey: null, workers: 1 });
  try {
    for (const raw of [Buffer.alloc(0), Buffer.from([0, 0xff, 0, 10]), Buffer.from('no headers at all')]) {
      const outcome = await ingest.ingest({ raw, origin: 'bad', routing: { kind: 'explicit', targets: [{ archive: 'a', folder: ['Inbox'] }] } });
      t.true(outcome.placements[0]!.added);
      t.true(outcome.problems.length > 0);
      t.deepEqual(await store.readRaw(outcome.sha), raw);
    }
  } finally {
    await ingest.close();
    await store.close();
  }
});

test('a re-import mixing listed and new messages keeps the new ones in source order', async (t) => {
  const store = await openStore({ dataDir: tempDir(t), encryptionKey: null });
  const ingest = createIngestPipeline({ store, addressBook: new Map(), folders: { received: 'Inbox', sent: 'Sent' }, encryptionKey: null, workers: 2 });
  const routing = { kind: 'explicit' as const, targets: [{ archive: 'a', folder: ['Inbox'] }] };
  try {
    const raws = Array.from({ length: 60 }, (_, i) => message({ messageId: `r${i}@x`, body: i % 4 === 0 ? 'y'.repeat(200_000) : `short ${i}` }));
    // Every third message is archived first; then all sixty arrive, listed and new interleaved.
    const early = raws.filter((_, i) => i % 3 === 0);
    await Promise.all(early.map((raw) => ingest.ingest({ raw, origin: 'first', routing })));
    const outcomes = await Promise.all(raws.map((raw) => ingest.ingest({ raw, origin: 'second', routing })));
    const newUids = outcomes.filter((_, i) => i % 3 !== 0).map((o) => o.placements[0]!.uid);
    t.deepEqual(newUids, newUids.map((_, i) => early.length + i + 1));
    t.true(outcomes.filter((_, i) => i % 3 === 0).every((o) => !o.placements[0]!.added));
  } finally {
    await ingest.close();
    await store.close();
  }
});

test('the pool leaves a core to the main thread, and always has one worker', (t) => {
  t.deepEqual([1, 2, 3, 8].map((cores) => defaultWorkerCount(cores)), [1, 1, 2, 7]);
});
