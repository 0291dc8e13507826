// Where segments live: each is an immutable sub-index (term-blocks.ts) under its id, written once
// (by a flush or a merge) and deleted once merged away. Reads go through the query's snapshot, so
// a merge may delete a segment while a query that started before still reads it.
//
//   searchPost  segment(u32) + first term of the block → posting block
//   searchRev   segment(u32) + first reversed term     → block of reversed terms, each with its
//                                                        posting's messages (no positions), so
//                                                        `*example.com` reads one contiguous range
import type { IndexBatchOp, SearchAccess, StoreSnapshot } from '../store/store.js';
import { concatPostings, postingWithoutPositions } from './postings.js';
import { BlockDirectory, BlockWriter, findInBlock, prefixEnd, reversedBinary, scanBlock } from './term-blocks.js';

export interface SegmentInfo {
  id: number;
  firstDoc: number;
  lastDoc: number;
  docs: number;
}

type Space = SearchAccess['spaces']['searchPost'];
type Entry = [term: string, posting: Buffer];

const WRITE_BATCH_BLOCKS = 64;
const DIRECTORY_CACHE_SEGMENTS = 256;

export function segmentKey(segment: number, term: string): Buffer {
  const key = Buffer.allocUnsafe(4 + term.length);
  key.writeUInt32BE(segment, 0);
  key.write(term, 4, 'latin1');
  return key;
}

export function segmentRange(segment: number): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.allocUnsafe(4);
  gte.writeUInt32BE(segment);
  const lt = Buffer.allocUnsafe(4);
  lt.writeUInt32BE(segment + 1);
  return { gte, lt };
}

export class SegmentStore {
  private readonly directories = new Map<string, BlockDirectory>();

  constructor(private readonly access: SearchAccess) {}

  /**
   * Writes a segment from its entries in term order, in batches (memory stays bounded however
   * large the segment); it becomes visible only when the caller records it in the index meta.
   */
  async write(segment: number, entries: Iterable<Entry>): Promise<void> {
    const reversed: Entry[] = [];
    await this.writeBlocks(this.access.spaces.searchPost, segment, (function* () {
      for (const [term, posting] of entries) {
        reversed.push([reversedBinary(term), postingWithoutPositions(posting)]);
        yield [term, posting];
      }
    })());
    reversed.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    await this.writeBlocks(this.access.spaces.searchRev, segment, reversed);
  }

  async delete(segments: readonly number[]): Promise<void> {
    for (const segment of segments) {
      await this.access.spaces.searchPost.clear(segmentRange(segment));
      await this.access.spaces.searchRev.clear(segmentRange(segment));
      this.directories.delete(`p${segment}`);
      this.directories.delete(`r${segment}`);
    }
  }

  /** Deletes every segment numbered from `first` on (unfinished writes found at open). */
  async deleteFrom(first: number): Promise<void> {
    const range = { gte: segmentRange(first).gte, lt: Buffer.alloc(5, 0xff) };
    await this.access.spaces.searchPost.clear(range);
    await this.access.spaces.searchRev.clear(range);
  }

  clearCache(): void {
    this.directories.clear();
  }

  /** A term's posting list in each segment (undefined where it does not occur). */
  async postings(segments: readonly SegmentInfo[], term: string, snapshot: StoreSnapshot): Promise<(Buffer | undefined)[]> {
    const blocks = await Promise.all(
      segments.map(async (segment) => {
        const directory = await this.directory('p', segment.id, snapshot);
        const at = directory.blockOf(term);
        return at === -1 ? undefined : segmentKey(segment.id, directory.firstTerms[at]!);
      }),
    );
    const wanted = blocks.filter((key): key is Buffer => key !== undefined);
    const values = wanted.length ? await this.access.spaces.searchPost.getMany(wanted, { snapshot }) : [];
    let next = 0;
    return blocks.map((key) => {
      if (!key) return undefined;
      const block = values[next++];
      return block && findInBlock(block, term);
    });
  }

  /** Entries of one segment whose term starts with `prefix` (binary strings), in term order. */
  async *withPrefix(segment: number, prefix: string, snapshot: StoreSnapshot): AsyncGenerator<Entry> {
    const directory = await this.directory('p', segment, snapshot);
    const end = prefixEnd(prefix);
    for (const block of await this.blocks('p', segment, directory, directory.blocksBetween(prefix, end), snapshot)) {
      const entries: Entry[] = [];
      scanBlock(block, (term, start, stop) => {
        if (term >= end) return false;
        if (term >= prefix) entries.push([term, block.subarray(start, stop)]);
        return true;
      });
      yield* entries;
    }
  }

  /**
   * Entries of one segment whose term ends with `suffix` (binary string), from the reversed
   * dictionary: the terms come back reversed, their postings without positions.
   */
  async *withSuffix(segment: number, suffix: string, snapshot: StoreSnapshot): AsyncGenerator<Entry> {
    const reversedSuffix = reversedBinary(suffix);
    const end = prefixEnd(reversedSuffix);
    const directory = await this.directory('r', segment, snapshot);
    for (const block of await this.blocks('r', segment, directory, directory.blocksBetween(reversedSuffix, end), snapshot)) {
      const entries: Entry[] = [];
      scanBlock(block, (reversed, start, stop) => {
        if (reversed >= end) return false;
        if (reversed >= reversedSuffix) entries.push([reversed, block.subarray(start, stop)]);
        return true;
      });
      yield* entries;
    }
  }

  /**
   * Writes one segment holding everything of `run` (consecutive, ascending document ranges, so
   * each term's lists concatenate). Stops early, returning false, when `stop()` says so.
   */
  async merge(run: readonly SegmentInfo[], into: number, snapshot: StoreSnapshot, stop: () => boolean): Promise<boolean> {
    const { searchPost, searchRev } = this.access.spaces;
    return (
      (await this.mergeKeyspace(searchPost, run, into, snapshot, stop, concatPostings)) &&
      (await this.mergeKeyspace(searchRev, run, into, snapshot, stop, concatPostings))
    );
  }

  /** A k-way merge of the segments' blocks in term order, synchronous but for reading the next block. */
  private async mergeKeyspace(
    space: Space,
    run: readonly SegmentInfo[],
    into: number,
    snapshot: StoreSnapshot,
    stop: () => boolean,
    combine: (values: Buffer[]) => Uint8Array,
  ): Promise<boolean> {
    const cursors = run.map((segment) => new BlockCursor(space.iterator({ ...segmentRange(segment.id), snapshot })));
    let ops: IndexBatchOp[] = [];
    const writer = new BlockWriter((first, block) => ops.push({ type: 'put', sublevel: space, key: segmentKey(into, first), value: block }));
    try {
      await Promise.all(cursors.map((cursor) => cursor.fill()));
      for (;;) {
        let smallest: string | undefined;
        for (const cursor of cursors) {
          const head = cursor.head();
          if (head && (smallest === undefined || head[0] < smallest)) smallest = head[0];
        }
        if (smallest === undefined) break;
        const values: Buffer[] = [];
        for (const cursor of cursors) {
          const head = cursor.head();
          if (head && head[0] === smallest) {
            values.push(head[1]);
            cursor.advance();
          }
        }
        writer.add(smallest, combine(values));
        const drained = cursors.filter((cursor) => cursor.drained());
        if (drained.length) {
          if (stop()) return false;
          await Promise.all(drained.map((cursor) => cursor.fill()));
        }
        if (ops.length >= WRITE_BATCH_BLOCKS) {
          await this.access.batch(ops);
          ops = [];
        }
      }
      writer.end();
      if (ops.length) await this.access.batch(ops);
      return true;
    } finally {
      await Promise.all(cursors.map((cursor) => cursor.close()));
    }
  }

  private async writeBlocks(space: Space, segment: number, entries: Iterable<Entry>): Promise<void> {
    let ops: IndexBatchOp[] = [];
    const writer = new BlockWriter((first, block) => ops.push({ type: 'put', sublevel: space, key: segmentKey(segment, first), value: block }));
    for (const [term, value] of entries) {
      writer.add(term, value);
      if (ops.length >= WRITE_BATCH_BLOCKS) {
        await this.access.batch(ops);
        ops = [];
      }
    }
    writer.end();
    if (ops.length) await this.access.batch(ops);
  }

  private async blocks(kind: 'p' | 'r', segment: number, directory: BlockDirectory, indexes: readonly number[], snapshot: StoreSnapshot): Promise<Buffer[]> {
    if (!indexes.length) return [];
    const space = kind === 'p' ? this.access.spaces.searchPost : this.access.spaces.searchRev;
    const values = await space.getMany(
      indexes.map((at) => segmentKey(segment, directory.firstTerms[at]!)),
      { snapshot },
    );
    return values.map((value) => value ?? Buffer.alloc(0));
  }

  /** A segment's block directory, read once (keys only) and cached: segments never change. */
  private async directory(kind: 'p' | 'r', segment: number, snapshot: StoreSnapshot): Promise<BlockDirectory> {
    const cacheKey = `${kind}${segment}`;
    const cached = this.directories.get(cacheKey);
    if (cached) {
      this.directories.delete(cacheKey);
      this.directories.set(cacheKey, cached);
      return cached;
    }
    const space = kind === 'p' ? this.access.spaces.searchPost : this.access.spaces.searchRev;
    const keys = await space.keys({ ...segmentRange(segment), snapshot }).all();
    const directory = new BlockDirectory(keys.map((key) => key.toString('latin1', 4)));
    this.directories.set(cacheKey, directory);
    if (this.directories.size > DIRECTORY_CACHE_SEGMENTS) this.directories.delete(this.directories.keys().next().value!);
    return directory;
  }
}

/** Reads one segment's blocks in order, a few at a time, and hands out their entries one by one. */
class BlockCursor {
  private blocks: Buffer[] = [];
  private entries: Entry[] = [];
  private at = 0;
  private ended = false;

  constructor(private readonly iterator: { nextv(size: number): Promise<[Buffer, Buffer][]>; close(): Promise<void> }) {}

  head(): Entry | undefined {
    return this.entries[this.at];
  }

  advance(): void {
    this.at++;
  }

  /** The entries read so far are used up but the segment may have more. */
  drained(): boolean {
    return this.at >= this.entries.length && !(this.ended && this.blocks.length === 0);
  }

  async fill(): Promise<void> {
    while (this.at >= this.entries.length) {
      if (!this.blocks.length) {
        if (this.ended) return;
        this.blocks = (await this.iterator.nextv(16)).map(([, block]) => block);
        if (!this.blocks.length) {
          this.ended = true;
          return;
        }
      }
      const block = this.blocks.shift()!;
      const entries: Entry[] = [];
      scanBlock(block, (term, start, end) => {
        entries.push([term, block.subarray(start, end)]);
      });
      this.entries = entries;
      this.at = 0;
    }
  }

  close(): Promise<void> {
    return this.iterator.close();
  }
}
