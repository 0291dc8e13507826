// Where segments live: each is an immutable sub-index (term-blocks.ts) under its id, written once
// (by a flush or a merge) and deleted once merged away. Reads go through the query's snapshot, so
// a merge may delete a segment while a query that started before still reads it.
//
//   searchPost  segment(u32) + first term of the block → posting block
//   searchRev   segment(u32) + first reversed term     → block of reversed terms (for *suffix)
import type { IndexBatchOp, SearchAccess, StoreSnapshot } from '../store/store.js';
import { concatPostings } from './postings.js';
import { BlockDirectory, BlockWriter, findInBlock, prefixEnd, reversedBinary, scanBlock } from './term-blocks.js';

export interface SegmentInfo {
  id: number;
  firstDoc: number;
  lastDoc: number;
  docs: number;
}

type Space = SearchAccess['spaces']['searchPost'];
type Entry = [term: string, posting: Buffer];

const WRITE_BATCH_BLOCKS = 256;
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
  async write(segment: number, entries: Iterable<Entry> | AsyncIterable<Entry>, reversedTerms: Iterable<string> | AsyncIterable<string>): Promise<void> {
    await this.writeBlocks(this.access.spaces.searchPost, segment, entries);
    await this.writeBlocks(this.access.spaces.searchRev, segment, withoutValues(reversedTerms));
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

  /** Entries of one segment whose term ends with `suffix` (binary string), in no particular order. */
  async *withSuffix(segment: number, suffix: string, snapshot: StoreSnapshot): AsyncGenerator<Entry> {
    const reversedSuffix = reversedBinary(suffix);
    const end = prefixEnd(reversedSuffix);
    const directory = await this.directory('r', segment, snapshot);
    const terms: string[] = [];
    for (const block of await this.blocks('r', segment, directory, directory.blocksBetween(reversedSuffix, end), snapshot)) {
      scanBlock(block, (reversed) => {
        if (reversed >= end) return false;
        if (reversed >= reversedSuffix) terms.push(reversedBinary(reversed));
        return true;
      });
    }
    if (!terms.length) return;
    terms.sort();
    const postings = await this.directory('p', segment, snapshot);
    const wanted = [...new Set(terms.map((term) => postings.blockOf(term)))].filter((at) => at !== -1);
    const blocks = new Map(wanted.map((at, i) => [at, i]));
    const values = await this.blocks('p', segment, postings, wanted, snapshot);
    for (const term of terms) {
      const block = values[blocks.get(postings.blockOf(term)) ?? -1];
      const posting = block && findInBlock(block, term);
      if (posting) yield [term, posting];
    }
  }

  /**
   * Writes one segment holding everything of `run` (consecutive, ascending document ranges, so
   * each term's lists concatenate). Stops early, returning false, when `stop()` says so.
   */
  async merge(run: readonly SegmentInfo[], into: number, snapshot: StoreSnapshot, stop: () => boolean): Promise<boolean> {
    let stopped = false;
    const entries = async function* (store: SegmentStore): AsyncGenerator<Entry> {
      for await (const [term, values] of mergeSorted(run.map((segment) => store.entries(store.access.spaces.searchPost, segment.id, snapshot)))) {
        if (stop()) {
          stopped = true;
          return;
        }
        yield [term, concatPostings(values)];
      }
    };
    const reversed = async function* (store: SegmentStore): AsyncGenerator<string> {
      if (stopped) return;
      for await (const [term] of mergeSorted(run.map((segment) => store.entries(store.access.spaces.searchRev, segment.id, snapshot)))) yield term;
    };
    await this.write(into, entries(this), reversed(this));
    return !stopped;
  }

  /** Every entry of one segment's keyspace, in term order. */
  private async *entries(space: Space, segment: number, snapshot: StoreSnapshot): AsyncGenerator<Entry> {
    const iterator = space.iterator({ ...segmentRange(segment), snapshot });
    try {
      for (;;) {
        const chunk = await iterator.nextv(64);
        if (!chunk.length) return;
        for (const [, block] of chunk) {
          const entries: Entry[] = [];
          scanBlock(block, (term, start, end) => {
            entries.push([term, block.subarray(start, end)]);
          });
          yield* entries;
        }
      }
    } finally {
      await iterator.close();
    }
  }

  private async writeBlocks(space: Space, segment: number, entries: Iterable<[string, Uint8Array | undefined]> | AsyncIterable<[string, Uint8Array | undefined]>): Promise<void> {
    let ops: IndexBatchOp[] = [];
    const writer = new BlockWriter((first, block) => ops.push({ type: 'put', sublevel: space, key: segmentKey(segment, first), value: block }));
    for await (const [term, value] of entries) {
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

async function* withoutValues(terms: Iterable<string> | AsyncIterable<string>): AsyncGenerator<[string, undefined]> {
  for await (const term of terms) yield [term, undefined];
}

/** Merges sorted entry streams; equal terms come out once, with their values in stream order. */
async function* mergeSorted(streams: AsyncGenerator<Entry>[]): AsyncGenerator<[string, Buffer[]]> {
  const heads = await Promise.all(streams.map((stream) => stream.next()));
  try {
    for (;;) {
      let smallest: string | undefined;
      for (const head of heads) if (!head.done && (smallest === undefined || head.value[0] < smallest)) smallest = head.value[0];
      if (smallest === undefined) return;
      const values: Buffer[] = [];
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i]!;
        if (!head.done && head.value[0] === smallest) {
          values.push(head.value[1]);
          heads[i] = await streams[i]!.next();
        }
      }
      yield [smallest, values];
    }
  } finally {
    await Promise.all(streams.map((stream) => stream.return(undefined)));
  }
}
