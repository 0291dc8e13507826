// The search index's storage and its writer. It follows the store's change feed: new content is
// added to an in-memory segment (its terms were prepared by the ingest worker), new listings to
// their folders' lists, and a flush writes both, with the cursor, in one LevelDB batch. A crash
// loses only unflushed work, which catch-up redoes from the store on the next start; nothing the
// store holds can be missing from the index once it has caught up.
import type { ArchiveStore, IndexBatchOp, SearchAccess, StoreSnapshot } from '../store/store.js';
import type { CommittedGroup, IndexPayload, Writer } from '../store/writer.js';
import { decodeRecord, encodeRecord } from '../store/codec.js';
import { prefixRange, u32 } from '../store/layout.js';
import { blockKey, blockOf, DocValueBlock, DocValueCache, slotOf, type DocValues } from './doc-values.js';
import { decodeFolderChunks, folderChunkKey, FolderListingCache, PendingFolderListings, type FolderListing } from './folder-lists.js';
import { SegmentBuilder } from './postings.js';
import { SegmentStore, type SegmentInfo } from './segments.js';
import { binary } from './term-blocks.js';

export type { SegmentInfo } from './segments.js';

/**
 * The index's format. 2: terms of the IMAP fields (imap-text.ts). 3: fields renumbered so that the
 * commonest masks take one byte (fields.ts). An index of another version is dropped when opened
 * and built again from the store, as `coffer reindex` would.
 */
const INDEX_VERSION = 3;

interface IndexMeta {
  version: number;
  /** Everything up to this change-feed seq, and content up to this document id, is indexed. */
  cursor: { change: number; doc: number };
  segments: SegmentInfo[];
  nextSegment: number;
  /** Segments whose keys are to be deleted: merged away, or a merge's output left unfinished by a crash. */
  garbage: number[];
}

/** What a query reads: the flushed state when it started, and a snapshot that keeps it readable. */
export interface IndexView {
  /** Highest indexed document id; ids run from 1. */
  maxDoc: number;
  segments: readonly SegmentInfo[];
  snapshot: StoreSnapshot;
}

/** Prepares a stored message's index payload (on an ingest worker) when catching up. */
export type PrepareForIndex = (raw: Buffer, envelopeRecipients?: readonly string[]) => Promise<IndexPayload>;

export interface SearchIndexOptions {
  /** Flush after this many new messages, or this many bytes of postings held in memory. */
  flushDocs?: number;
  flushBytes?: number;
  /** Flush this long after the last change when no threshold was reached (live intake). */
  idleFlushMs?: number;
  onError?: (err: unknown) => void;
}

const META_KEY = Buffer.from('meta');
const CATCH_UP_BATCH = 256;
const MAX_FOLDER_CHUNKS = 64;
/** Segments of a similar size are merged this many at a time (a log-structured, tiered merge). */
const MERGE_FACTOR = 10;

function emptyMeta(): IndexMeta {
  return { version: INDEX_VERSION, cursor: { change: 0, doc: 0 }, segments: [], nextSegment: 1, garbage: [] };
}

export class SearchIndex {
  private meta: IndexMeta;
  /** The cursor including what is applied in memory but not yet flushed. */
  private readonly cursor: { change: number; doc: number };
  private builder = new SegmentBuilder();
  private folders = new PendingFolderListings();
  private tail: { block: number; values: DocValueBlock };
  private dirtyBlocks = new Map<number, DocValueBlock>();
  private readonly docValues: DocValueCache;
  private readonly folderCache = new FolderListingCache(4_000_000);
  private readonly segments: SegmentStore;
  private flushing: Promise<void> = Promise.resolve();
  private catchingUp: Promise<void> | undefined;
  private missedWhileCatchingUp = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastApplied = 0;
  private merging: Promise<void> | undefined;
  private rebuilding = false;
  private detach: (() => void) | undefined;
  private closed = false;
  private readonly flushDocs: number;
  private readonly flushBytes: number;
  private readonly idleFlushMs: number;

  private constructor(
    private readonly store: ArchiveStore,
    private readonly access: SearchAccess,
    private readonly prepare: PrepareForIndex,
    meta: IndexMeta,
    tail: DocValueBlock,
    private readonly options: SearchIndexOptions,
  ) {
    this.meta = meta;
    this.cursor = { ...meta.cursor };
    this.tail = { block: blockOf(meta.cursor.doc + 1), values: tail };
    // The segment being built, and its inversion at flush, are most of the main thread's memory.
    this.flushDocs = options.flushDocs ?? 2048;
    this.flushBytes = options.flushBytes ?? 8 * 1024 * 1024;
    this.idleFlushMs = options.idleFlushMs ?? 1000;
    this.segments = new SegmentStore(access);
    // Bounded caches: 2,048 value blocks (2 million messages, ~43 MB), 4 million folder listings (32 MB).
    this.docValues = new DocValueCache((blocks) => readDocValues(access, blocks), 2048);
  }

  static async open(store: ArchiveStore, prepare: PrepareForIndex, options: SearchIndexOptions = {}): Promise<SearchIndex> {
    const access = store.searchAccess();
    const stored = await access.spaces.searchMeta.get(META_KEY);
    let meta = stored ? decodeRecord<IndexMeta>(stored) : emptyMeta();
    if (meta.version !== INDEX_VERSION) {
      await Promise.all(Object.values(access.spaces).map((space) => space.clear()));
      // Segment ids are never reused (see rebuild).
      meta = { ...emptyMeta(), nextSegment: meta.nextSegment };
      await access.batch([{ type: 'put', sublevel: access.spaces.searchMeta, key: META_KEY, value: encodeRecord(meta) }]);
    }
    const segments = new SegmentStore(access);
    await segments.delete(meta.garbage);
    meta.garbage = [];
    // Blocks of a segment whose writing a crash interrupted: under an id the meta record never got to.
    await segments.deleteFrom(meta.nextSegment);
    const [tailValue] = await readDocValues(access, [blockOf(meta.cursor.doc + 1)]);
    return new SearchIndex(store, access, prepare, meta, tailValue ? DocValueBlock.decode(tailValue) : new DocValueBlock(), options);
  }

  /** Follows the writer's commits from now on (the live path: no re-reading from the store). */
  follow(writer: Writer): void {
    this.detach?.();
    this.detach = writer.onCommit((group) => this.onCommitted(group));
  }

  /**
   * The state a query reads, with a snapshot that keeps its segments readable while a merge
   * replaces them; close it with `release`. Call `ready()` first to include everything stored.
   */
  acquire(): IndexView {
    return { maxDoc: this.meta.cursor.doc, segments: this.meta.segments, snapshot: this.access.snapshot() };
  }

  async release(view: IndexView): Promise<void> {
    await view.snapshot.close();
  }

  /** Catches up with the store and flushes, so that a query sees every archived message. */
  async ready(): Promise<void> {
    await this.catchUp();
    await this.flush();
  }

  /** Indexes whatever the store holds beyond the cursor: after a crash, or for a rebuild. */
  catchUp(): Promise<void> {
    this.catchingUp ??= this.runCatchUp().finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  /** Drops the whole index and builds it again from the store (`coffer reindex`). */
  async rebuild(): Promise<void> {
    await this.catchingUp;
    this.rebuilding = true;
    try {
      await this.flush();
      while (this.merging) await this.merging;
      // In line with flushes, so that none writes a meta record naming what is being deleted.
      await this.exclusively(async () => {
        await Promise.all(Object.values(this.access.spaces).map((space) => space.clear()));
        // Segment ids are never reused, so that nothing cached or read through an older snapshot
        // can be taken for a segment of the new index.
        this.meta = { ...emptyMeta(), nextSegment: this.meta.nextSegment };
        await this.access.batch([{ type: 'put', sublevel: this.access.spaces.searchMeta, key: META_KEY, value: encodeRecord(this.meta) }]);
        Object.assign(this.cursor, this.meta.cursor);
        this.builder = new SegmentBuilder();
        this.folders = new PendingFolderListings();
        this.dirtyBlocks.clear();
        this.tail = { block: blockOf(1), values: new DocValueBlock() };
        this.docValues.clear();
        this.folderCache.clear();
        this.segments.clearCache();
      });
      await this.catchUp();
      await this.flush();
    } finally {
      this.rebuilding = false;
    }
    this.maybeMerge();
  }

  async close(): Promise<void> {
    await this.catchingUp;
    this.closed = true;
    this.detach?.();
    clearTimeout(this.idleTimer);
    await this.flush();
    // A merge stops at its next batch; its unfinished output is deleted on the next open.
    await this.merging;
  }

  // --- reads -------------------------------------------------------------------------------

  /** A term's posting lists in the view's segments (undefined where it does not occur). */
  postings(view: IndexView, term: string): Promise<(Buffer | undefined)[]> {
    return this.segments.postings(view.segments, binary(term), view.snapshot);
  }

  /** The terms (binary strings, term-blocks.ts) of one segment starting with prefix, with their postings. */
  withPrefix(view: IndexView, segment: number, prefix: string): AsyncIterable<[string, Buffer]> {
    return this.segments.withPrefix(segment, binary(prefix), view.snapshot);
  }

  /** The terms (binary strings, reversed) of one segment ending with suffix, with their postings without positions. */
  withSuffix(view: IndexView, segment: number, suffix: string): AsyncIterable<[string, Buffer]> {
    return this.segments.withSuffix(segment, binary(suffix), view.snapshot);
  }

  /** The terms (binary strings, reversed) of one segment containing infix, with their postings without positions. */
  withInfix(view: IndexView, segment: number, infix: string): AsyncIterable<[string, Buffer]> {
    return this.segments.withInfix(segment, binary(infix), view.snapshot);
  }

  docValueBlocks(maxDoc: number): Promise<DocValueBlock[]> {
    return this.docValues.blocksUpTo(maxDoc);
  }

  async folderListing(folderId: number): Promise<FolderListing> {
    const cached = this.folderCache.get(folderId);
    if (cached) return cached;
    const space = this.access.spaces.searchFolder;
    const chunks = await space.iterator(prefixRange(u32(folderId))).all();
    const listing = decodeFolderChunks(chunks.map(([, chunk]) => chunk));
    this.folderCache.set(folderId, listing);
    if (chunks.length > MAX_FOLDER_CHUNKS) {
      // Live intake adds a chunk per folder at every flush: join them (their pairs concatenate),
      // under the newest key, so that reading a folder stays one short scan.
      const [lastKey] = chunks[chunks.length - 1]!;
      const ops: IndexBatchOp[] = chunks.slice(0, -1).map(([key]) => ({ type: 'del', sublevel: space, key }));
      ops.push({ type: 'put', sublevel: space, key: lastKey, value: Buffer.concat(chunks.map(([, chunk]) => chunk)) });
      await this.access.batch(ops);
    }
    return listing;
  }

  stats(): { messages: number; changes: number; segments: number } {
    return { messages: this.meta.cursor.doc, changes: this.meta.cursor.change, segments: this.meta.segments.length };
  }

  // --- the live path -------------------------------------------------------------------------

  private onCommitted(group: CommittedGroup): void {
    if (this.closed) return;
    if (this.catchingUp) {
      this.missedWhileCatchingUp = true;
      return;
    }
    const payloads = new Map(group.contents.map(({ docId, message }) => [docId, { payload: message.index, size: message.size }]));
    // Listings come in feed order; removals (rare: re-filing) are merged in only when there are any.
    const changes = group.unlistings.length
      ? [...group.listings, ...group.unlistings.map((unlisting) => ({ ...unlisting, removed: true as const }))].sort((a, b) => a.seq - b.seq)
      : group.listings;
    for (const change of changes) {
      if (change.seq <= this.cursor.change) continue;
      // A gap in the feed: changes committed before this index followed the writer. Catch-up
      // reads them from the store, in order.
      if (change.seq !== this.cursor.change + 1) {
        void this.catchUp().catch((err: unknown) => this.options.onError?.(err));
        return;
      }
      if ('removed' in change) {
        this.applyRemoval(change);
        continue;
      }
      const content = change.docId > this.cursor.doc ? payloads.get(change.docId) : undefined;
      // New content without its prepared terms: catch-up prepares them from the store.
      if (change.docId > this.cursor.doc && !content?.payload) {
        void this.catchUp().catch((err: unknown) => this.options.onError?.(err));
        return;
      }
      const newContent = content?.payload ? { payload: content.payload, size: content.size } : undefined;
      this.apply(change, newContent);
    }
    this.afterApply();
  }

  private applyRemoval(change: { seq: number; folderId: number; uid: number }): void {
    this.folders.remove(change.folderId, change.uid);
    this.cursor.change = change.seq;
  }

  private apply(
    listing: { seq: number; folderId: number; uid: number; docId: number; archivedAt: number; internalDate: number },
    content: { payload: IndexPayload; size: number } | undefined,
  ): void {
    if (content && listing.docId > this.cursor.doc) {
      const { docId } = listing;
      const { payload } = content;
      this.builder.add(docId, payload.terms);
      this.setDocValues(docId, {
        date: payload.date ?? listing.internalDate,
        archivedAt: listing.archivedAt,
        size: content.size,
        priority: payload.priority,
        attachments: payload.attachments,
      });
      this.cursor.doc = docId;
    }
    this.folders.add(listing.folderId, listing.docId, listing.uid);
    this.cursor.change = listing.seq;
  }

  private setDocValues(docId: number, values: DocValues): void {
    const block = blockOf(docId);
    if (block !== this.tail.block) this.tail = { block, values: new DocValueBlock() };
    this.tail.values.set(slotOf(docId), values);
    this.dirtyBlocks.set(block, this.tail.values);
  }

  private afterApply(): void {
    if (this.builder.docs >= this.flushDocs || this.builder.bytes >= this.flushBytes) {
      void this.flush().catch((err: unknown) => this.options.onError?.(err));
      return;
    }
    this.lastApplied = Date.now();
    if (!this.idleTimer) this.armIdleFlush(this.idleFlushMs);
  }

  /** Flushes once nothing new has come for idleFlushMs (live intake); a steady stream flushes by size. */
  private armIdleFlush(delay: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      const quietFor = Date.now() - this.lastApplied;
      if (quietFor < this.idleFlushMs) {
        this.armIdleFlush(this.idleFlushMs - quietFor);
        return;
      }
      void this.flush().catch((err: unknown) => this.options.onError?.(err));
    }, delay);
    this.idleTimer.unref();
  }

  // --- catch-up ------------------------------------------------------------------------------

  private async runCatchUp(): Promise<void> {
    for (;;) {
      this.missedWhileCatchingUp = false;
      while (!this.closed && (await this.catchUpBatch()));
      // A commit heard while catching up may have come after the last read: read again.
      if (!this.missedWhileCatchingUp || this.closed) return;
    }
  }

  /** Indexes the next batch of changes from the store; false when there were none. */
  private async catchUpBatch(): Promise<boolean> {
    const changes: { seq: number; folderId: number; uid: number; sha: Buffer | undefined; removed: boolean }[] = [];
    for await (const change of this.store.changes(this.cursor.change + 1)) {
      changes.push(change);
      if (changes.length >= CATCH_UP_BATCH) break;
    }
    if (!changes.length) return false;
    const resolved = await Promise.all(
      changes.map(async (change) => {
        if (change.removed) return { change, entry: undefined, stored: undefined };
        const entry = await this.store.getEntry(change.folderId, change.uid);
        // A listing removed since (a re-filed message): its content is still reached by its sha.
        const sha = entry?.sha ?? change.sha;
        const stored = sha && (await this.store.getStoredMessage(sha));
        return { change, entry, stored: stored && { ...stored, sha } };
      }),
    );
    // Each new message once, in id order; prepared on the ingest workers in parallel.
    const firstSeen = new Set<number>();
    const prepared = await Promise.all(
      resolved.map(async ({ entry, stored }) => {
        if (!stored || stored.blobId <= this.cursor.doc || firstSeen.has(stored.blobId)) return undefined;
        firstSeen.add(stored.blobId);
        const raw = await this.store.readRaw(stored.sha);
        return { payload: await this.prepare(raw, entry?.envelopeRecipients), size: stored.meta.size };
      }),
    );
    resolved.forEach(({ change, entry, stored }, i) => {
      if (change.removed) {
        this.applyRemoval(change);
        return;
      }
      if (!stored) {
        // The change feed and the listings are written in one batch; this cannot happen short of
        // damage, which `coffer verify` reports. The index skips it rather than stopping for good.
        this.cursor.change = change.seq;
        return;
      }
      // A removed listing's dates are gone with it: its content takes the message's own.
      const archivedAt = entry?.archivedAt ?? stored.meta.receivedAt ?? stored.meta.date ?? 0;
      const internalDate = entry?.internalDate ?? archivedAt;
      this.apply({ ...change, docId: stored.blobId, archivedAt, internalDate }, prepared[i]);
    });
    if (this.builder.docs >= this.flushDocs || this.builder.bytes >= this.flushBytes) await this.flush();
    return true;
  }

  // --- flush ---------------------------------------------------------------------------------

  flush(): Promise<void> {
    const done = this.flushing.then(() => this.writeFlush());
    // A failed flush leaves its work to the next one (the cursor did not move); the chain goes on.
    this.flushing = done.catch(() => undefined);
    return done;
  }

  /** Resolves when everything applied is flushed and no merge is running (tests). */
  async settle(): Promise<void> {
    await this.flush();
    while (this.merging) await this.merging;
  }

  private async writeFlush(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.cursor.change === this.meta.cursor.change) return;
    const builder = this.builder;
    const folders = this.folders;
    const blocks = this.dirtyBlocks;
    this.builder = new SegmentBuilder();
    this.folders = new PendingFolderListings();
    this.dirtyBlocks = new Map();

    const { spaces } = this.access;
    const ops: IndexBatchOp[] = [];
    const segments = [...this.meta.segments];
    const next: IndexMeta = { ...this.meta, cursor: { ...this.cursor }, segments, garbage: [...this.meta.garbage] };
    if (builder.docs > 0) {
      const id = next.nextSegment++;
      this.meta.nextSegment = next.nextSegment;
      const inverted = await builder.invert();
      // Part of the index only once the meta record below names it.
      await this.segments.write(id, inverted.entries());
      segments.push({ id, firstDoc: builder.firstDoc, lastDoc: builder.lastDoc, docs: builder.docs });
    }
    for (const [folderId, chunk] of folders.chunks()) {
      ops.push({ type: 'put', sublevel: spaces.searchFolder, key: folderChunkKey(folderId, next.cursor.change), value: chunk });
    }
    const written = new Map<number, DocValueBlock>();
    for (const [block, values] of blocks) {
      // A copy: the tail block keeps filling in memory while this batch is written.
      const copy = new DocValueBlock(new Uint8Array(values.bytes));
      written.set(block, copy);
      const key = blockKey(block);
      const bytes = Buffer.from(copy.bytes.buffer, copy.bytes.byteOffset, copy.bytes.byteLength);
      ops.push({ type: 'put', sublevel: spaces.searchDocs, key, value: this.access.sealer.seal(bytes, key, { compress: false }) });
    }
    ops.push({ type: 'put', sublevel: spaces.searchMeta, key: META_KEY, value: encodeRecord(next) });
    await this.access.batch(ops);
    this.meta = next;
    for (const [block, values] of written) this.docValues.remember(block, values);
    for (const [folderId] of folders.chunks()) this.folderCache.forget(folderId);
    this.maybeMerge();
  }

  // --- merge ---------------------------------------------------------------------------------

  /**
   * Merges until no run of segments qualifies (the daemon calls this when it starts; a benchmark
   * before it measures queries). Flushes do it as they go.
   */
  async maintain(): Promise<void> {
    this.maybeMerge();
    while (this.merging) await this.merging;
  }

  /** Starts merging the first run of MERGE_FACTOR adjacent segments of one size class, if any. */
  private maybeMerge(): void {
    if (this.merging || this.closed || this.rebuilding) return;
    const run = mergeRun(this.meta.segments, this.flushDocs);
    if (!run) return;
    this.merging = this.merge(run)
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => {
        this.merging = undefined;
        this.maybeMerge();
      });
  }

  /**
   * Writes one segment holding the postings of `run` (consecutive document ranges, so each term's
   * lists concatenate), then swaps it in for them in one meta update. Queries started before the
   * swap keep reading the old segments through their snapshots.
   */
  private async merge(run: SegmentInfo[]): Promise<void> {
    const id = await this.updateMeta((meta) => {
      const allocated = meta.nextSegment++;
      // Until the swap, the new segment is garbage to whoever opens the index after a crash.
      meta.garbage.push(allocated);
      return allocated;
    });
    const snapshot = this.access.snapshot();
    let finished: boolean;
    try {
      finished = await this.segments.merge(run, id, snapshot, () => this.closed || this.rebuilding);
    } finally {
      await snapshot.close();
    }
    if (!finished) return;
    const merged: SegmentInfo = { id, firstDoc: run[0]!.firstDoc, lastDoc: run[run.length - 1]!.lastDoc, docs: run.reduce((sum, s) => sum + s.docs, 0) };
    const replaced = new Set(run.map((segment) => segment.id));
    const swapped = await this.updateMeta((meta) => {
      // Gone meanwhile (a rebuild): the merged segment is garbage instead.
      if (meta.segments.filter((segment) => replaced.has(segment.id)).length !== replaced.size) return false;
      const at = meta.segments.findIndex((segment) => replaced.has(segment.id));
      meta.segments = meta.segments.filter((segment) => !replaced.has(segment.id));
      meta.segments.splice(at, 0, merged);
      meta.garbage = [...meta.garbage.filter((garbage) => garbage !== id), ...replaced];
      return true;
    });
    const deleted = swapped ? [...replaced] : [id];
    await this.segments.delete(deleted);
    await this.updateMeta((meta) => {
      meta.garbage = meta.garbage.filter((garbage) => !deleted.includes(garbage));
    });
  }

  /** Changes the meta record, in line with flushes (which write it too). */
  private updateMeta<T>(change: (meta: IndexMeta) => T): Promise<T> {
    return this.exclusively(async () => {
      const next: IndexMeta = { ...this.meta, segments: [...this.meta.segments], garbage: [...this.meta.garbage] };
      const result = change(next);
      await this.access.batch([{ type: 'put', sublevel: this.access.spaces.searchMeta, key: META_KEY, value: encodeRecord(next) }]);
      this.meta = next;
      return result;
    });
  }

  /** Runs work that reads and writes the meta record, after and before any flush. */
  private exclusively<T>(work: () => Promise<T>): Promise<T> {
    const done = this.flushing.then(work);
    this.flushing = done.then(() => undefined, () => undefined);
    return done;
  }
}

/** Blocks of per-message values, opened (they are sealed like every index value that says anything of a message). */
async function readDocValues(access: SearchAccess, blocks: readonly number[]): Promise<(Buffer | undefined)[]> {
  const keys = blocks.map(blockKey);
  const values = await access.spaces.searchDocs.getMany(keys);
  return values.map((sealed, i) => sealed && access.sealer.open(sealed, keys[i]!));
}

/**
 * The first MERGE_FACTOR adjacent segments of the same size class (powers of MERGE_FACTOR), if any.
 * Every segment a flush wrote counts as full-sized: flushes cut early (by bytes, by idleness)
 * must not split the runs of their neighbours.
 */
function mergeRun(segments: readonly SegmentInfo[], flushDocs: number): SegmentInfo[] | undefined {
  const sizeClass = (segment: SegmentInfo): number => Math.floor(Math.log(Math.max(flushDocs, segment.docs)) / Math.log(MERGE_FACTOR));
  for (let start = 0; start + MERGE_FACTOR <= segments.length; start++) {
    const run = segments.slice(start, start + MERGE_FACTOR);
    if (run.every((segment) => sizeClass(segment) === sizeClass(run[0]!))) return run;
  }
  return undefined;
}
