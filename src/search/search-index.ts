// The search index's storage and its writer. It follows the store's change feed: new content is
// added to an in-memory segment (its terms were prepared by the ingest worker), new listings to
// their folders' lists, and a flush writes both, with the cursor, in one LevelDB batch. A crash
// loses only unflushed work, which catch-up redoes from the store on the next start; nothing the
// store holds can be missing from the index once it has caught up.
import type { ArchiveStore, IndexBatchOp, SearchAccess, StoreSnapshot } from '../store/store.js';
import type { CommittedGroup, IndexPayload, Writer } from '../store/writer.js';
import { decodeRecord, encodeRecord } from '../store/codec.js';
import { blockKey, blockOf, DocValueBlock, DocValueCache, slotOf, type DocValues } from './doc-values.js';
import { decodeFolderChunks, folderChunkKey, folderPrefix, FolderListingCache, PendingFolderListings, type FolderListing } from './folder-lists.js';
import { concatPostings, SegmentBuilder } from './postings.js';

export interface SegmentInfo {
  id: number;
  firstDoc: number;
  lastDoc: number;
  docs: number;
}

interface IndexMeta {
  version: 1;
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
const EMPTY = Buffer.alloc(0);
const CATCH_UP_BATCH = 256;
/** Segments of a similar size are merged this many at a time (a log-structured, tiered merge). */
const MERGE_FACTOR = 8;
const MERGE_BATCH_OPS = 4096;
const FLUSH_BATCH_OPS = 8192;

function emptyMeta(): IndexMeta {
  return { version: 1, cursor: { change: 0, doc: 0 }, segments: [], nextSegment: 1, garbage: [] };
}

export function segmentKey(segment: number, term: Buffer): Buffer {
  const key = Buffer.allocUnsafe(4 + term.length);
  key.writeUInt32BE(segment, 0);
  term.copy(key, 4);
  return key;
}

export function reverseTerm(term: string): string {
  return Array.from(term).reverse().join('');
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
  private readonly folderCache = new FolderListingCache(8_000_000);
  private flushing: Promise<void> = Promise.resolve();
  private catchingUp: Promise<void> | undefined;
  private missedWhileCatchingUp = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private merging: Promise<void> | undefined;
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
    this.flushDocs = options.flushDocs ?? 4096;
    this.flushBytes = options.flushBytes ?? 16 * 1024 * 1024;
    this.idleFlushMs = options.idleFlushMs ?? 1000;
    this.docValues = new DocValueCache((blocks) => this.access.spaces.searchDocs.getMany(blocks.map(blockKey)), 4096);
  }

  static async open(store: ArchiveStore, prepare: PrepareForIndex, options: SearchIndexOptions = {}): Promise<SearchIndex> {
    const access = store.searchAccess();
    const stored = await access.spaces.searchMeta.get(META_KEY);
    const meta = stored ? decodeRecord<IndexMeta>(stored) : emptyMeta();
    await deleteSegments(access, meta.garbage);
    meta.garbage = [];
    // Keys of a segment whose flush a crash interrupted: written in chunks under an id the meta
    // record never got to (ids at or past nextSegment).
    const unfinished = { gte: segmentRange(meta.nextSegment).gte, lt: Buffer.alloc(5, 0xff) };
    await access.spaces.searchPost.clear(unfinished);
    await access.spaces.searchRev.clear(unfinished);
    const tailValue = await access.spaces.searchDocs.get(blockKey(blockOf(meta.cursor.doc + 1)));
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
  async rebuild(onProgress?: (done: number, total: number) => void): Promise<void> {
    await this.catchingUp;
    await this.flush();
    await this.merging;
    const { spaces } = this.access;
    await Promise.all(Object.values(spaces).map((space) => space.clear()));
    this.meta = emptyMeta();
    Object.assign(this.cursor, this.meta.cursor);
    this.builder = new SegmentBuilder();
    this.folders = new PendingFolderListings();
    this.dirtyBlocks.clear();
    this.tail = { block: blockOf(1), values: new DocValueBlock() };
    this.docValues.clear();
    this.folderCache.clear();
    await this.catchUp();
    await this.flush();
    if (onProgress) onProgress(this.cursor.change, this.cursor.change);
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
  async postings(view: IndexView, term: string, segments: readonly SegmentInfo[] = view.segments): Promise<(Buffer | undefined)[]> {
    const bytes = Buffer.from(term, 'utf8');
    return this.access.spaces.searchPost.getMany(
      segments.map((segment) => segmentKey(segment.id, bytes)),
      { snapshot: view.snapshot },
    );
  }

  /** Terms of one segment starting with prefix, with their postings, in term order. */
  segmentTermsWithPrefix(view: IndexView, segment: number, prefix: string): AsyncIterable<[Buffer, Buffer]> {
    const start = segmentKey(segment, Buffer.from(prefix, 'utf8'));
    return this.access.spaces.searchPost.iterator({ ...rangeOf(start), snapshot: view.snapshot });
  }

  /** Terms (UTF-8, segment id stripped) of one segment ending with suffix. */
  async *segmentTermsWithSuffix(view: IndexView, segment: number, suffix: string): AsyncIterable<Buffer> {
    const start = segmentKey(segment, Buffer.from(reverseTerm(suffix), 'utf8'));
    for await (const key of this.access.spaces.searchRev.keys({ ...rangeOf(start), snapshot: view.snapshot })) {
      yield Buffer.from(reverseTerm(key.toString('utf8', 4)), 'utf8');
    }
  }

  docValueBlocks(maxDoc: number): Promise<DocValueBlock[]> {
    return this.docValues.blocksUpTo(maxDoc);
  }

  async folderListing(folderId: number): Promise<FolderListing> {
    const cached = this.folderCache.get(folderId);
    if (cached) return cached;
    const chunks = await this.access.spaces.searchFolder.values(folderPrefix(folderId)).all();
    const listing = decodeFolderChunks(chunks);
    this.folderCache.set(folderId, listing);
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
    for (const listing of group.listings) {
      if (listing.seq <= this.cursor.change) continue;
      const content = listing.docId > this.cursor.doc ? payloads.get(listing.docId) : undefined;
      // A gap in the feed (changes committed before this index followed the writer), or content
      // without its prepared terms: catch-up reads them from the store, in order.
      if (listing.seq !== this.cursor.change + 1 || (listing.docId > this.cursor.doc && !content?.payload)) {
        void this.catchUp().catch((err: unknown) => this.options.onError?.(err));
        return;
      }
      const newContent = content?.payload ? { payload: content.payload, size: content.size } : undefined;
      this.apply(listing, newContent);
    }
    this.afterApply();
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
    if (this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      void this.flush().catch((err: unknown) => this.options.onError?.(err));
    }, this.idleFlushMs);
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
    const changes: { seq: number; folderId: number; uid: number }[] = [];
    for await (const change of this.store.changes(this.cursor.change + 1)) {
      changes.push(change);
      if (changes.length >= CATCH_UP_BATCH) break;
    }
    if (!changes.length) return false;
    const resolved = await Promise.all(
      changes.map(async (change) => {
        const entry = await this.store.getEntry(change.folderId, change.uid);
        const stored = entry && (await this.store.getStoredMessage(entry.sha));
        return { change, entry, stored };
      }),
    );
    // Each new message once, in id order; prepared on the ingest workers in parallel.
    const firstSeen = new Set<number>();
    const prepared = await Promise.all(
      resolved.map(async ({ entry, stored }) => {
        if (!entry || !stored || stored.blobId <= this.cursor.doc || firstSeen.has(stored.blobId)) return undefined;
        firstSeen.add(stored.blobId);
        const raw = await this.store.readRaw(entry.sha);
        return { payload: await this.prepare(raw, entry.envelopeRecipients), size: stored.meta.size };
      }),
    );
    resolved.forEach(({ change, entry, stored }, i) => {
      if (!entry || !stored) {
        // The change feed and the listings are written in one batch; this cannot happen short of
        // damage, which `coffer verify` reports. The index skips it rather than stopping for good.
        this.cursor.change = change.seq;
        return;
      }
      this.apply({ ...change, docId: stored.blobId, archivedAt: entry.archivedAt, internalDate: entry.internalDate }, prepared[i]);
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

  /** Resolves when everything applied is flushed and no merge is running (tests, benchmarks). */
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
    let ops: IndexBatchOp[] = [];
    const segments = [...this.meta.segments];
    const next: IndexMeta = { ...this.meta, cursor: { ...this.cursor }, segments, garbage: [...this.meta.garbage] };
    if (builder.docs > 0) {
      const id = next.nextSegment++;
      this.meta.nextSegment = next.nextSegment;
      segments.push({ id, firstDoc: builder.firstDoc, lastDoc: builder.lastDoc, docs: builder.docs });
      // The segment is written in chunks, so memory stays bounded whatever its vocabulary; it
      // becomes part of the index only with the meta record, written last.
      for (const [term, posting] of builder.encode()) {
        ops.push({ type: 'put', sublevel: spaces.searchPost, key: segmentKey(id, term), value: posting });
        ops.push({ type: 'put', sublevel: spaces.searchRev, key: segmentKey(id, Buffer.from(reverseTerm(term.toString('utf8')), 'utf8')), value: EMPTY });
        if (ops.length >= FLUSH_BATCH_OPS) {
          await this.access.batch(ops);
          ops = [];
        }
      }
    }
    for (const [folderId, chunk] of folders.chunks()) {
      ops.push({ type: 'put', sublevel: spaces.searchFolder, key: folderChunkKey(folderId, next.cursor.change), value: chunk });
    }
    const written = new Map<number, DocValueBlock>();
    for (const [block, values] of blocks) {
      // A copy: the tail block keeps filling in memory while this batch is written.
      const copy = new DocValueBlock(new Uint8Array(values.bytes));
      written.set(block, copy);
      ops.push({ type: 'put', sublevel: spaces.searchDocs, key: blockKey(block), value: Buffer.from(copy.bytes.buffer, copy.bytes.byteOffset, copy.bytes.byteLength) });
    }
    ops.push({ type: 'put', sublevel: spaces.searchMeta, key: META_KEY, value: encodeRecord(next) });
    await this.access.batch(ops);
    this.meta = next;
    for (const [block, values] of written) this.docValues.remember(block, values);
    for (const [folderId] of folders.chunks()) this.folderCache.forget(folderId);
    this.maybeMerge();
  }

  // --- merge ---------------------------------------------------------------------------------

  /** Starts merging the first run of MERGE_FACTOR adjacent segments of one size class, if any. */
  private maybeMerge(): void {
    if (this.merging || this.closed) return;
    const run = mergeRun(this.meta.segments);
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
    const { spaces } = this.access;
    const id = await this.updateMeta((meta) => {
      const allocated = meta.nextSegment++;
      // Until the swap, the new segment is garbage to whoever opens the index after a crash.
      meta.garbage.push(allocated);
      return allocated;
    });
    const snapshot = this.access.snapshot();
    try {
      let ops: IndexBatchOp[] = [];
      for await (const [term, postings] of mergedTerms(spaces.searchPost, run, snapshot)) {
        if (this.closed) return;
        ops.push({ type: 'put', sublevel: spaces.searchPost, key: segmentKey(id, term), value: concatPostings(postings) });
        ops.push({ type: 'put', sublevel: spaces.searchRev, key: segmentKey(id, Buffer.from(reverseTerm(term.toString('utf8')), 'utf8')), value: EMPTY });
        if (ops.length >= MERGE_BATCH_OPS) {
          await this.access.batch(ops);
          ops = [];
        }
      }
      if (ops.length) await this.access.batch(ops);
    } finally {
      await snapshot.close();
    }
    const merged: SegmentInfo = { id, firstDoc: run[0]!.firstDoc, lastDoc: run[run.length - 1]!.lastDoc, docs: run.reduce((sum, s) => sum + s.docs, 0) };
    const replaced = new Set(run.map((segment) => segment.id));
    await this.updateMeta((meta) => {
      const at = meta.segments.findIndex((segment) => replaced.has(segment.id));
      meta.segments = meta.segments.filter((segment) => !replaced.has(segment.id));
      meta.segments.splice(at, 0, merged);
      meta.garbage = [...meta.garbage.filter((garbage) => garbage !== id), ...replaced];
    });
    await deleteSegments(this.access, [...replaced]);
    await this.updateMeta((meta) => {
      meta.garbage = meta.garbage.filter((garbage) => !replaced.has(garbage));
    });
  }

  /** Changes the meta record, in line with flushes (which write it too). */
  private updateMeta<T>(change: (meta: IndexMeta) => T): Promise<T> {
    const done = this.flushing.then(async () => {
      const next: IndexMeta = { ...this.meta, segments: [...this.meta.segments], garbage: [...this.meta.garbage] };
      const result = change(next);
      await this.access.batch([{ type: 'put', sublevel: this.access.spaces.searchMeta, key: META_KEY, value: encodeRecord(next) }]);
      this.meta = next;
      return result;
    });
    this.flushing = done.then(() => undefined, () => undefined);
    return done;
  }
}

/** The first MERGE_FACTOR adjacent segments of the same size class (powers of MERGE_FACTOR), if any. */
function mergeRun(segments: readonly SegmentInfo[]): SegmentInfo[] | undefined {
  const sizeClass = (segment: SegmentInfo): number => Math.floor(Math.log(Math.max(1, segment.docs)) / Math.log(MERGE_FACTOR));
  for (let start = 0; start + MERGE_FACTOR <= segments.length; start++) {
    const run = segments.slice(start, start + MERGE_FACTOR);
    if (run.every((segment) => sizeClass(segment) === sizeClass(run[0]!))) return run;
  }
  return undefined;
}

type PostingSpace = SearchAccess['spaces']['searchPost'];

/** Every term of the given segments in term order, with its posting lists in segment order. */
async function* mergedTerms(space: PostingSpace, segments: readonly SegmentInfo[], snapshot: StoreSnapshot): AsyncGenerator<[Buffer, Buffer[]]> {
  const cursors = segments.map((segment) => new SegmentCursor(space, segment.id, snapshot));
  try {
    for (;;) {
      const heads = await Promise.all(cursors.map((cursor) => cursor.peek()));
      let smallest: Buffer | undefined;
      for (const head of heads) if (head && (!smallest || Buffer.compare(head[0], smallest) < 0)) smallest = head[0];
      if (!smallest) return;
      const postings: Buffer[] = [];
      heads.forEach((head, i) => {
        if (head && head[0].equals(smallest)) {
          postings.push(head[1]);
          cursors[i]!.advance();
        }
      });
      yield [smallest, postings];
    }
  } finally {
    await Promise.all(cursors.map((cursor) => cursor.close()));
  }
}

/** Reads one segment's postings in term order, in chunks. Terms are returned without the segment id. */
class SegmentCursor {
  private readonly iterator;
  private buffered: [Buffer, Buffer][] = [];
  private at = 0;
  private ended = false;

  constructor(space: PostingSpace, segment: number, snapshot: StoreSnapshot) {
    this.iterator = space.iterator({ ...segmentRange(segment), snapshot });
  }

  async peek(): Promise<[Buffer, Buffer] | undefined> {
    if (this.at >= this.buffered.length && !this.ended) {
      this.buffered = await this.iterator.nextv(1024);
      this.at = 0;
      if (this.buffered.length === 0) this.ended = true;
    }
    const entry = this.buffered[this.at];
    return entry && [entry[0].subarray(4), entry[1]];
  }

  advance(): void {
    this.at++;
  }

  close(): Promise<void> {
    return this.iterator.close();
  }
}

function segmentRange(segment: number): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.allocUnsafe(4);
  gte.writeUInt32BE(segment);
  const lt = Buffer.allocUnsafe(4);
  lt.writeUInt32BE(segment + 1);
  return { gte, lt };
}

async function deleteSegments(access: SearchAccess, segments: readonly number[]): Promise<void> {
  for (const segment of segments) {
    await access.spaces.searchPost.clear(segmentRange(segment));
    await access.spaces.searchRev.clear(segmentRange(segment));
  }
}

function rangeOf(prefix: Buffer): { gte: Buffer; lt: Buffer } {
  const upper = Buffer.from(prefix);
  let i = upper.length - 1;
  while (i >= 0 && upper[i] === 0xff) upper[i--] = 0;
  upper[i] = (upper[i] ?? 0) + 1;
  return { gte: prefix, lt: upper };
}
