// Where segments live: each is an immutable sub-index (term-blocks.ts) under its id, written once
// (by a flush or a merge) and deleted once merged away. Reads go through the query's snapshot, so
// a merge may delete a segment while a query that started before still reads it.
//
//   searchPost  segment(u32) + block(u32)  → sealed posting block
//   searchRev   segment(u32) + block(u32)  → sealed block of reversed terms, each with its posting's
//                                            messages (no positions), so `*example.com` reads one
//                                            contiguous range
//   searchDir   'p'|'r' + segment(u32)     → sealed directory: the first term of every block
// Keys hold numbers only and values are sealed (encrypted when the store is): no word is readable.
import { prefixRange, u32 } from '../store/layout.js';
import type { IndexBatchOp, SearchAccess, StoreSnapshot } from '../store/store.js';
import { concatPostings, positionsStart, sortedBinary } from './postings.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { TimeSlice } from './time-slice.js';
import { BLOCK_TARGET_BYTES, BlockDirectory, BlockWriter, findInBlock, prefixEnd, reversedBinary, scanBlock } from './term-blocks.js';

export interface SegmentInfo {
  id: number;
  firstDoc: number;
  lastDoc: number;
  docs: number;
}

type Entry = [term: string, posting: Buffer];

const WRITE_BATCH_BLOCKS = 64;
/** Blocks read at a time by a scan of a whole dictionary (infix). */
const SCAN_BATCH_BLOCKS = 128;
/**
 * Memory for segments' term texts (infix search), about a third of their reversed dictionaries'
 * bytes. Segments beyond it are scanned block by block.
 */
const TERM_TEXT_CACHE_BYTES = 64 * 1024 * 1024;
const TERM_SEPARATOR = '\n';
const DIRECTORY_CACHE_SEGMENTS = 256;

type Kind = 'p' | 'r';

function blockKey(segment: number, block: number): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeUInt32BE(segment, 0);
  key.writeUInt32BE(block, 4);
  return key;
}

function directoryKey(kind: Kind, segment: number): Buffer {
  const key = Buffer.allocUnsafe(5);
  key.write(kind, 0, 'latin1');
  key.writeUInt32BE(segment, 1);
  return key;
}

const UNCOMPRESSED = { compress: false } as const;

/** Every key of one segment. */
function segmentRange(segment: number): { gte: Buffer; lt: Buffer } {
  return prefixRange(u32(segment));
}

export class SegmentStore {
  private readonly directories = new Map<string, BlockDirectory>();
  /** Term texts of segments (infix), least recently used first. */
  private readonly termTexts = new Map<number, CachedTermText>();

  constructor(private readonly access: SearchAccess) {}

  /**
   * Writes a segment from its entries in term order, in batches (memory stays bounded however
   * large the segment); it becomes visible only when the caller records it in the index meta.
   */
  async write(segment: number, entries: Iterable<Entry>): Promise<void> {
    const slice = new TimeSlice();
    const reversed = new ReversedEntries();
    await this.writeBlocks('p', segment, slice, (function* () {
      for (const entry of entries) {
        reversed.add(entry[0], entry[1]);
        yield entry;
      }
    })());
    await this.writeBlocks('r', segment, slice, await reversed.sorted(slice));
  }

  async delete(segments: readonly number[]): Promise<void> {
    const { searchPost, searchRev, searchDir } = this.access.spaces;
    for (const segment of segments) {
      await searchPost.clear(segmentRange(segment));
      await searchRev.clear(segmentRange(segment));
      await this.access.batch((['p', 'r'] as const).map((kind) => ({ type: 'del', sublevel: searchDir, key: directoryKey(kind, segment) })));
      this.directories.delete(`p${segment}`);
      this.directories.delete(`r${segment}`);
      this.termTexts.delete(segment);
    }
  }

  /** Deletes every segment numbered from `first` on (unfinished writes found at open). */
  async deleteFrom(first: number): Promise<void> {
    const { searchPost, searchRev, searchDir } = this.access.spaces;
    const range = { gte: segmentRange(first).gte, lt: Buffer.alloc(5, 0xff) };
    await searchPost.clear(range);
    await searchRev.clear(range);
    for (const kind of ['p', 'r'] as const) await searchDir.clear({ gte: directoryKey(kind, first), lt: directoryKey(kind, 0xffffffff) });
  }

  clearCache(): void {
    this.directories.clear();
    this.termTexts.clear();
  }

  /** A term's posting list in each segment (undefined where it does not occur). */
  async postings(segments: readonly SegmentInfo[], term: string, snapshot: StoreSnapshot): Promise<(Buffer | undefined)[]> {
    const blocks = await Promise.all(
      segments.map(async (segment) => {
        const at = (await this.directory('p', segment.id, snapshot)).blockOf(term);
        return at === -1 ? undefined : blockKey(segment.id, at);
      }),
    );
    const wanted = blocks.filter((key): key is Buffer => key !== undefined);
    const values = wanted.length ? await this.access.spaces.searchPost.getMany(wanted, { snapshot }) : [];
    let next = 0;
    return blocks.map((key) => {
      if (!key) return undefined;
      const sealed = values[next++];
      return sealed && findInBlock(this.access.sealer.open(sealed, key), term);
    });
  }

  /** Entries of one segment whose term starts with `prefix` (binary strings), in term order. */
  withPrefix(segment: number, prefix: string, snapshot: StoreSnapshot): AsyncGenerator<Entry> {
    return this.startingWith('p', segment, prefix, snapshot);
  }

  /**
   * Entries of one segment whose term ends with `suffix` (binary string), from the reversed
   * dictionary: the terms come back reversed, their postings without positions.
   */
  withSuffix(segment: number, suffix: string, snapshot: StoreSnapshot): AsyncGenerator<Entry> {
    return this.startingWith('r', segment, reversedBinary(suffix), snapshot);
  }

  /** Entries of one of a segment's dictionaries ('p' terms, 'r' reversed terms) that start with `prefix`. */
  private async *startingWith(dictionary: Kind, segment: number, prefix: string, snapshot: StoreSnapshot): AsyncGenerator<Entry> {
    const directory = await this.directory(dictionary, segment, snapshot);
    const end = prefixEnd(prefix);
    for (const block of await this.blocks(dictionary, segment, directory.blocksBetween(prefix, end), snapshot)) {
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
   * Entries of one segment whose term contains `infix` (binary string), from the reversed
   * dictionary (reversed terms, postings without positions). The blocks to read are found in the
   * segment's term text (TermText, cached); where that is too large to cache, every block is read
   * and one whose bytes do not hold the (reversed) infix at all is skipped without being decoded.
   */
  async *withInfix(segment: number, infix: string, snapshot: StoreSnapshot): AsyncGenerator<Entry> {
    const reversedInfix = reversedBinary(infix);
    const needle = Buffer.from(reversedInfix, 'latin1');
    const termText = await this.termText(segment, snapshot);
    const indexes = termText ? termText.blocksContaining(reversedInfix) : undefined;
    const count = indexes ? indexes.length : (await this.directory('r', segment, snapshot)).firstTerms.length;
    for (let first = 0; first < count; first += SCAN_BATCH_BLOCKS) {
      const batch = indexes ? indexes.slice(first, first + SCAN_BATCH_BLOCKS) : Array.from({ length: Math.min(SCAN_BATCH_BLOCKS, count - first) }, (_, i) => first + i);
      for (const block of await this.blocks('r', segment, batch, snapshot)) {
        if (block.indexOf(needle) === -1) continue;
        const entries: Entry[] = [];
        scanBlock(block, (reversed, start, stop) => {
          if (reversed.includes(reversedInfix)) entries.push([reversed, block.subarray(start, stop)]);
        });
        yield* entries;
      }
    }
  }

  /** A segment's term text, built on first use and kept while the cache has room; undefined when it has none. */
  private async termText(segment: number, snapshot: StoreSnapshot): Promise<TermText | undefined> {
    let cached = this.termTexts.get(segment);
    if (cached) {
      // Most recently used last.
      this.termTexts.delete(segment);
      this.termTexts.set(segment, cached);
    } else {
      const directory = await this.directory('r', segment, snapshot);
      // Too large to keep (terms are about a third of a dictionary's bytes): not worth building.
      if (directory.firstTerms.length * BLOCK_TARGET_BYTES > 2 * TERM_TEXT_CACHE_BYTES) return undefined;
      const entry: CachedTermText = { text: this.buildTermText(segment, directory.firstTerms.length, snapshot), bytes: 0 };
      cached = entry;
      this.termTexts.set(segment, entry);
      try {
        entry.bytes = (await entry.text).bytes;
      } catch (err) {
        if (this.termTexts.get(segment) === entry) this.termTexts.delete(segment);
        throw err;
      }
      // Least recently used out first; the newest stays whatever its size.
      let total = 0;
      for (const { bytes } of this.termTexts.values()) total += bytes;
      for (const [oldest, { bytes }] of this.termTexts) {
        if (total <= TERM_TEXT_CACHE_BYTES || oldest === segment) break;
        this.termTexts.delete(oldest);
        total -= bytes;
      }
    }
    return cached.text;
  }

  private async buildTermText(segment: number, count: number, snapshot: StoreSnapshot): Promise<TermText> {
    const parts: string[] = [];
    const blockStarts = new Uint32Array(count);
    let length = 0;
    for (let first = 0; first < count; first += SCAN_BATCH_BLOCKS) {
      const indexes = Array.from({ length: Math.min(SCAN_BATCH_BLOCKS, count - first) }, (_, i) => first + i);
      (await this.blocks('r', segment, indexes, snapshot)).forEach((block, i) => {
        blockStarts[first + i] = length;
        scanBlock(block, (reversed) => {
          parts.push(reversed);
          length += reversed.length + 1;
        });
      });
    }
    // A separator no needle is looked for across: a match over it only makes a block be read.
    return new TermText(parts.join(TERM_SEPARATOR) + TERM_SEPARATOR, blockStarts);
  }

  /**
   * Writes one segment holding everything of `run` (consecutive, ascending document ranges, so
   * each term's lists concatenate). Stops early, returning false, when `stop()` says so.
   */
  async merge(run: readonly SegmentInfo[], into: number, snapshot: StoreSnapshot, stop: () => boolean): Promise<boolean> {
    return (
      (await this.mergeKeyspace('p', run, into, snapshot, stop, concatPostings)) &&
      (await this.mergeKeyspace('r', run, into, snapshot, stop, concatPostings))
    );
  }

  /** A k-way merge of the segments' blocks in term order, synchronous but for reading the next block. */
  private async mergeKeyspace(
    kind: Kind,
    run: readonly SegmentInfo[],
    into: number,
    snapshot: StoreSnapshot,
    stop: () => boolean,
    combine: (values: Buffer[]) => Uint8Array,
  ): Promise<boolean> {
    const space = kind === 'p' ? this.access.spaces.searchPost : this.access.spaces.searchRev;
    const open = (key: Buffer, sealed: Buffer): Buffer => this.access.sealer.open(sealed, key);
    const cursors = run.map((segment) => new BlockCursor(space.iterator({ ...segmentRange(segment.id), snapshot }), open));
    const out = this.blockSink(kind, into);
    const slice = new TimeSlice();
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
        out.writer.add(smallest, combine(values));
        const drained = cursors.filter((cursor) => cursor.drained());
        if (drained.length) {
          if (stop()) return false;
          await Promise.all(drained.map((cursor) => cursor.fill()));
        }
        if (out.full()) await out.flush();
        else if (slice.due()) await slice.yield();
      }
      await out.end();
      return true;
    } finally {
      await Promise.all(cursors.map((cursor) => cursor.close()));
    }
  }

  private async writeBlocks(kind: Kind, segment: number, slice: TimeSlice, entries: Iterable<Entry>): Promise<void> {
    const out = this.blockSink(kind, segment);
    for (const [term, value] of entries) {
      out.writer.add(term, value);
      if (out.full()) await out.flush();
      else if (slice.due()) await slice.yield();
    }
    await out.end();
  }

  /**
   * Where a segment's blocks go: numbered, sealed, written in batches; `end` writes the last ones
   * and the segment's directory (the first term of each block).
   */
  private blockSink(kind: Kind, segment: number): { writer: BlockWriter; full(): boolean; flush(): Promise<void>; end(): Promise<void> } {
    const space = kind === 'p' ? this.access.spaces.searchPost : this.access.spaces.searchRev;
    const { sealer } = this.access;
    const directory = new ByteWriter(1024);
    let blocks = 0;
    let ops: IndexBatchOp[] = [];
    const writer = new BlockWriter((first, block) => {
      const key = blockKey(segment, blocks++);
      ops.push({ type: 'put', sublevel: space, key, value: sealer.seal(block, key, UNCOMPRESSED) });
      directory.binary(first);
    });
    const write = async (): Promise<void> => {
      if (!ops.length) return;
      const batch = ops;
      ops = [];
      await this.access.batch(batch);
    };
    return {
      writer,
      // Checked after every entry, awaited only when a batch is full: one await per term would
      // cost more than writing the term.
      full: () => ops.length >= WRITE_BATCH_BLOCKS,
      flush: write,
      end: async () => {
        writer.end();
        const key = directoryKey(kind, segment);
        const encoded = new ByteWriter(directory.length + 8);
        encoded.varint(blocks);
        encoded.append(directory.view());
        ops.push({ type: 'put', sublevel: this.access.spaces.searchDir, key, value: sealer.seal(encoded.toBuffer(), key, UNCOMPRESSED) });
        await write();
      },
    };
  }

  private async blocks(kind: Kind, segment: number, indexes: readonly number[], snapshot: StoreSnapshot): Promise<Buffer[]> {
    if (!indexes.length) return [];
    const space = kind === 'p' ? this.access.spaces.searchPost : this.access.spaces.searchRev;
    const keys = indexes.map((at) => blockKey(segment, at));
    const values = await space.getMany(keys, { snapshot });
    return values.map((sealed, i) => (sealed ? this.access.sealer.open(sealed, keys[i]!) : Buffer.alloc(0)));
  }

  /** A segment's block directory, read once and cached: segments never change. */
  private async directory(kind: Kind, segment: number, snapshot: StoreSnapshot): Promise<BlockDirectory> {
    const cacheKey = `${kind}${segment}`;
    const cached = this.directories.get(cacheKey);
    if (cached) {
      this.directories.delete(cacheKey);
      this.directories.set(cacheKey, cached);
      return cached;
    }
    const key = directoryKey(kind, segment);
    const sealed = await this.access.spaces.searchDir.get(key, { snapshot });
    const directory = new BlockDirectory(sealed ? decodeDirectory(this.access.sealer.open(sealed, key)) : []);
    this.directories.set(cacheKey, directory);
    if (this.directories.size > DIRECTORY_CACHE_SEGMENTS) this.directories.delete(this.directories.keys().next().value!);
    return directory;
  }
}

/**
 * A segment's reversed terms (binary strings) in one string, each followed by TERM_SEPARATOR, with
 * where each block's first term starts: which blocks hold a term containing some text is then one
 * native string search away, instead of reading the whole dictionary.
 */
interface CachedTermText {
  text: Promise<TermText>;
  /** Its size once built (0 while building). */
  bytes: number;
}

/**
 * The reversed dictionary of a segment being written: each term spelt backwards with its posting's
 * messages (the posting without its positions section), the bytes gathered in one buffer rather
 * than a Buffer per term, sorted once every term is in.
 */
class ReversedEntries {
  private readonly terms: string[] = [];
  private readonly ends: number[] = [];
  private readonly bytes = new ByteWriter(1 << 16);

  add(term: string, posting: Buffer): void {
    this.terms.push(reversedBinary(term));
    this.bytes.append(posting, 0, positionsStart(posting));
    this.ends.push(this.bytes.length);
  }

  /** The entries in byte order of the reversed terms; the sort gives the event loop turns. */
  async sorted(slice: TimeSlice): Promise<Iterable<Entry>> {
    const { terms, ends } = this;
    const bytes = this.bytes.view();
    const order = await sortedBinary(terms, slice);
    return (function* () {
      for (const i of order) yield [terms[i]!, bytes.subarray(i === 0 ? 0 : ends[i - 1]!, ends[i]!)] as Entry;
    })();
  }
}

class TermText {
  constructor(
    readonly text: string,
    readonly blockStarts: Uint32Array,
  ) {}

  get bytes(): number {
    return this.text.length + this.blockStarts.byteLength;
  }

  /** Indexes of the blocks with a term containing `needle`, ascending. */
  blocksContaining(needle: string): number[] {
    const blocks: number[] = [];
    const { text, blockStarts } = this;
    let from = 0;
    for (;;) {
      const at = text.indexOf(needle, from);
      if (at === -1) return blocks;
      let low = 0;
      let high = blockStarts.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >>> 1;
        if (blockStarts[middle]! <= at) low = middle;
        else high = middle - 1;
      }
      blocks.push(low);
      // The block is read whole: look on from the next one.
      if (low + 1 >= blockStarts.length) return blocks;
      from = blockStarts[low + 1]!;
    }
  }
}

function decodeDirectory(encoded: Buffer): string[] {
  const reader = new ByteReader(encoded);
  const count = reader.varint();
  const firstTerms: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = reader.varint();
    firstTerms.push(encoded.toString('latin1', reader.offset, reader.offset + length));
    reader.offset += length;
  }
  return firstTerms;
}

/** Reads one segment's blocks in order, a few at a time, and hands out their entries one by one. */
class BlockCursor {
  private blocks: Buffer[] = [];
  private entries: Entry[] = [];
  private at = 0;
  private ended = false;

  constructor(
    private readonly iterator: { nextv(size: number): Promise<[Buffer, Buffer][]>; close(): Promise<void> },
    private readonly open: (key: Buffer, sealed: Buffer) => Buffer,
  ) {}

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
        this.blocks = (await this.iterator.nextv(16)).map(([key, sealed]) => this.open(key, sealed));
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
