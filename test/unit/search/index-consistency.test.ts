// The index's own bookkeeping: many small segments merged in the background, a rebuild from the
// store, and catch-up after the index fell behind all answer exactly like the incremental index.
import test, { type ExecutionContext } from 'ava';
import { parseConfigText, type Config } from '../../../src/config/index.js';
import { createIngestPipeline, type IngestPipeline } from '../../../src/ingest/pipeline.js';
import { SearchIndex, type PrepareForIndex } from '../../../src/search/search-index.js';
import { search } from '../../../src/search/search.js';
import { decodeRecord, encodeRecord } from '../../../src/store/codec.js';
import { openStore, type ArchiveStore } from '../../../src/store/store.js';
import { message, tempDir } from '../helpers.js';

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const QUERIES = ['alpha', 'bravo charlie', '"charlie delta"', 'e*', '*ta', 'g?lf', 'subject:kilo', '-alpha', 'alpha -bravo', 'from:sender3@example.com', '*example.com', ''];

function corpusMessage(n: number): Buffer {
  const words = WORDS.filter((_, i) => (n * 7 + i * 3) % 5 < 2);
  return message({
    from: `sender${n % 5}@example.com`,
    subject: `${WORDS[n % WORDS.length]} number ${n}`,
    body: words.join(' '),
    date: new Date(Date.UTC(2024, 0, 1 + (n % 200))).toUTCString(),
    messageId: `m${n}@example.com`,
  });
}

async function answers(store: ArchiveStore, index: SearchIndex, config: Config): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const query of QUERIES) {
    const response = await search(store, index, config, { query, limit: 1000 });
    result[query] = { total: response.total, hits: response.results.map((hit) => `${hit.folder}/${hit.uid}`).sort() };
  }
  return result;
}

interface IndexedStore {
  config: Config;
  store: ArchiveStore;
  pipeline: IngestPipeline;
  prepare: PrepareForIndex;
}

/** A fresh store with an ingest pipeline of `workers` workers, closed after `body`. */
async function withIndexedStore(t: ExecutionContext, workers: number, body: (setup: IndexedStore) => Promise<void>): Promise<void> {
  const dataDir = tempDir(t);
  const config = parseConfigText(`dataDir: ${dataDir}\n`, { file: `${dataDir}/coffer.yaml` });
  const store = await openStore({ dataDir, encryptionKey: null });
  const pipeline = createIngestPipeline({ store, addressBook: new Map(), folders: config.folders, encryptionKey: null, workers });
  try {
    await body({ config, store, pipeline, prepare: (raw, recipients) => pipeline.prepareForIndex(raw, recipients) });
  } finally {
    await pipeline.close();
    await store.close();
  }
}

test('merged segments, a rebuild and a catch-up answer exactly like the incremental index', async (t) => {
  await withIndexedStore(t, 2, async ({ config, store, pipeline, prepare }) => {
    // Tiny segments (three messages each) so that merges happen many times over.
    const index = await SearchIndex.open(store, prepare, { flushDocs: 3 });
    index.follow(store.getWriter());
    for (let n = 0; n < 120; n++) {
      const folder = n % 3 === 0 ? ['Inbox', 'Sub'] : ['Inbox'];
      await pipeline.ingest({ raw: corpusMessage(n), origin: `n${n}`, routing: { kind: 'explicit', targets: [{ archive: 'x', folder }] } });
      // The same content listed again elsewhere: one document, two listings.
      if (n % 10 === 0) await pipeline.ingest({ raw: corpusMessage(n), origin: `dup${n}`, routing: { kind: 'explicit', targets: [{ archive: 'x', folder: ['Copies'] }] } });
    }
    await index.settle();
    t.true(index.stats().segments < 12, `merges keep the segment count down (${index.stats().segments})`);
    const incremental = await answers(store, index, config);
    t.is((incremental[''] as { total: number }).total, 132, 'every listing is found by the empty query');
    t.true((incremental['alpha'] as { total: number }).total > 0);

    await index.rebuild();
    t.deepEqual(await answers(store, index, config), incremental, 'rebuild equals incremental');
    await index.close();

    // An index that stopped following (as after kill -9 before a flush) catches up from the store.
    const behind = await SearchIndex.open(store, prepare, { flushDocs: 1000 });
    for (let n = 120; n < 150; n++) {
      await pipeline.ingest({ raw: corpusMessage(n), origin: `n${n}`, routing: { kind: 'explicit', targets: [{ archive: 'x', folder: ['Inbox'] }] } });
    }
    const caughtUp = await answers(store, behind, config);
    await behind.rebuild();
    t.deepEqual(await answers(store, behind, config), caughtUp, 'catch-up equals rebuild');
    t.is((caughtUp[''] as { total: number }).total, 162);
    await behind.close();
  });
});

test('an index of an earlier format is dropped when opened and built again from the store', async (t) => {
  await withIndexedStore(t, 2, async ({ config, store, pipeline, prepare }) => {
    const index = await SearchIndex.open(store, prepare, { flushDocs: 8 });
    index.follow(store.getWriter());
    for (let n = 0; n < 40; n++) await pipeline.ingest({ raw: corpusMessage(n), origin: `n${n}`, routing: { kind: 'explicit', targets: [{ archive: 'x', folder: ['Inbox'] }] } });
    await index.settle();
    const before = await answers(store, index, config);
    await index.close();
    // What format 2 (IMAP fields at bits 9-16) left behind: its meta record names version 2.
    const { spaces } = store.searchAccess();
    const metaKey = Buffer.from('meta');
    const meta = decodeRecord<{ version: number }>((await spaces.searchMeta.get(metaKey))!);
    t.is(meta.version, 3);
    await spaces.searchMeta.put(metaKey, encodeRecord({ ...meta, version: 2 }));

    const reopened = await SearchIndex.open(store, prepare, { flushDocs: 8 });
    t.is(decodeRecord<{ version: number }>((await spaces.searchMeta.get(metaKey))!).version, 3);
    t.deepEqual(await answers(store, reopened, config), before);
    t.is((before[''] as { total: number }).total, 40);
    await reopened.close();
  });
});

test("a folder's listings written by many small flushes are joined when read, and read the same", async (t) => {
  await withIndexedStore(t, 1, async ({ config, store, pipeline, prepare }) => {
    // One message per flush, as a trickle of live intake would flush.
    const index = await SearchIndex.open(store, prepare, { flushDocs: 1 });
    index.follow(store.getWriter());
    for (let n = 0; n < 100; n++) {
      await pipeline.ingest({ raw: corpusMessage(n), origin: `n${n}`, routing: { kind: 'explicit', targets: [{ archive: 'x', folder: ['Inbox'] }] } });
      await index.flush();
    }
    await index.settle();
    const chunks = () => store.searchAccess().spaces.searchFolder.keys().all();
    t.true((await chunks()).length >= 100, 'a chunk per flush');
    const first = await answers(store, index, config);
    t.is((first[''] as { total: number }).total, 100);
    t.is((await chunks()).length, 1, 'joined into one on reading');
    await index.close();
    const reopened = await SearchIndex.open(store, prepare);
    t.deepEqual(await answers(store, reopened, config), first);
    await reopened.close();
  });
});

test('a rebuild while mail keeps arriving ends with every message indexed once', async (t) => {
  await withIndexedStore(t, 2, async ({ config, store, pipeline, prepare }) => {
    const index = await SearchIndex.open(store, prepare, { flushDocs: 5 });
    index.follow(store.getWriter());
    const ingest = (from: number, to: number) =>
      Promise.all(
        Array.from({ length: to - from }, (_, i) =>
          pipeline.ingest({ raw: corpusMessage(from + i), origin: `n${from + i}`, routing: { kind: 'explicit', targets: [{ archive: 'x', folder: ['Inbox'] }] } }),
        ),
      );
    await ingest(0, 60);
    await index.settle();
    await Promise.all([index.rebuild(), ingest(60, 120)]);
    await index.settle();
    const during = await answers(store, index, config);
    t.is((during[''] as { total: number }).total, 120);
    await index.rebuild();
    t.deepEqual(await answers(store, index, config), during);
    await index.close();
  });
});
