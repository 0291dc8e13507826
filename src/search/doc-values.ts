// Per-message values the search sorts and filters on (date, archiving date, size, attachments,
// priority), kept column-wise in blocks of 1,024 messages so that a query reads a few blocks
// instead of one record per hit. Decoded blocks are cached, bounded, most recently used first.
//
//   key u32(docId / 1024) → Float64 date[1024], Float64 archivedAt[1024], Uint32 size[1024],
//                           Uint8 flags[1024]        (little-endian; a block is rewritten whole)

export const DOCS_PER_BLOCK = 1024;
const BLOCK_BYTES = DOCS_PER_BLOCK * (8 + 8 + 4 + 1);

const PRESENT = 0x80;
const HAS_ATTACHMENTS = 0x08;
const PRIORITY_MASK = 0x07;

export interface DocValues {
  /** The message's date (Date header, else received, else archived), ms since epoch. */
  date: number;
  archivedAt: number;
  size: number;
  /** 1 (highest) … 5 (lowest), 3 normal. */
  priority: number;
  attachments: boolean;
}

export class DocValueBlock {
  readonly dates: Float64Array;
  readonly archived: Float64Array;
  readonly sizes: Uint32Array;
  readonly flags: Uint8Array;

  constructor(readonly bytes = new Uint8Array(BLOCK_BYTES)) {
    const { buffer, byteOffset } = bytes;
    this.dates = new Float64Array(buffer, byteOffset, DOCS_PER_BLOCK);
    this.archived = new Float64Array(buffer, byteOffset + 8 * DOCS_PER_BLOCK, DOCS_PER_BLOCK);
    this.sizes = new Uint32Array(buffer, byteOffset + 16 * DOCS_PER_BLOCK, DOCS_PER_BLOCK);
    this.flags = new Uint8Array(buffer, byteOffset + 20 * DOCS_PER_BLOCK, DOCS_PER_BLOCK);
  }

  static decode(value: Uint8Array): DocValueBlock {
    if (value.length !== BLOCK_BYTES) throw new RangeError(`doc value block of ${value.length} bytes`);
    // Copied into fresh, aligned memory: typed array views need their alignment.
    return new DocValueBlock(new Uint8Array(value));
  }

  set(slot: number, values: DocValues): void {
    this.dates[slot] = values.date;
    this.archived[slot] = values.archivedAt;
    this.sizes[slot] = Math.min(values.size, 0xffffffff);
    this.flags[slot] = PRESENT | (values.attachments ? HAS_ATTACHMENTS : 0) | (values.priority & PRIORITY_MASK);
  }

  present(slot: number): boolean {
    return (this.flags[slot]! & PRESENT) !== 0;
  }

  hasAttachments(slot: number): boolean {
    return (this.flags[slot]! & HAS_ATTACHMENTS) !== 0;
  }

  priority(slot: number): number {
    return this.flags[slot]! & PRIORITY_MASK;
  }
}

export const blockOf = (docId: number): number => Math.floor(docId / DOCS_PER_BLOCK);
export const slotOf = (docId: number): number => docId % DOCS_PER_BLOCK;

export function blockKey(block: number): Buffer {
  const key = Buffer.allocUnsafe(4);
  key.writeUInt32BE(block);
  return key;
}

/** Reads and caches blocks; `load` is given by the index, which owns the keyspace. */
export class DocValueCache {
  private readonly blocks = new Map<number, DocValueBlock>();

  constructor(
    private readonly load: (blocks: number[]) => Promise<(Uint8Array | undefined)[]>,
    private readonly capacity: number,
  ) {}

  /** The blocks holding ids 0 … maxDoc, loading what is not cached, in one read. */
  async blocksUpTo(maxDoc: number): Promise<DocValueBlock[]> {
    const count = blockOf(maxDoc) + 1;
    const missing: number[] = [];
    for (let block = 0; block < count; block++) if (!this.blocks.has(block)) missing.push(block);
    if (missing.length) {
      const values = await this.load(missing);
      missing.forEach((block, i) => {
        const value = values[i];
        this.remember(block, value ? DocValueBlock.decode(value) : new DocValueBlock());
      });
    }
    const result: DocValueBlock[] = [];
    for (let block = 0; block < count; block++) {
      const found = this.blocks.get(block)!;
      // Most recently used last, so eviction takes the oldest.
      this.blocks.delete(block);
      this.blocks.set(block, found);
      result.push(found);
    }
    return result;
  }

  /** Replaces a cached block after the indexer wrote it. */
  remember(block: number, value: DocValueBlock): void {
    this.blocks.delete(block);
    this.blocks.set(block, value);
    while (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value!);
  }

  clear(): void {
    this.blocks.clear();
  }
}
