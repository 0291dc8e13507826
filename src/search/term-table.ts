// Interns terms straight from the bytes of encoded documents (doc-terms.ts) while a segment is
// inverted: each distinct term gets a dense id, and no JavaScript string is made per occurrence.
// A segment of 4,096 messages holds over a million term occurrences but only ~150,000 distinct
// terms; hashing and comparing bytes in place (open addressing, FNV-1a) spares the main thread a
// string allocation and a Map lookup for each of them, which was most of the inversion's time.

const INITIAL_SLOTS = 1 << 16;

export class TermTable {
  /** Slot → term id + 1 (0: empty). Kept at most half full. */
  private slots: Int32Array = new Int32Array(INITIAL_SLOTS);
  private hashes: Int32Array = new Int32Array(INITIAL_SLOTS >> 1);
  private starts: Int32Array = new Int32Array(INITIAL_SLOTS >> 1);
  private lengths: Int32Array = new Int32Array(INITIAL_SLOTS >> 1);
  /** The bytes of every distinct term, one after another. */
  private arena = new Uint8Array(1 << 20);
  private arenaUsed = 0;
  size = 0;

  /** The id of the term held in bytes[start, start + length), added if new. */
  intern(bytes: Uint8Array, start: number, length: number): number {
    let hash = 0x811c9dc5 | 0; // int32, as the hashes array holds it
    for (let i = start; i < start + length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) {
        const id = this.add(bytes, start, length, hash);
        this.slots[slot] = id + 1;
        if (this.size * 2 > this.slots.length) this.rehash();
        return id;
      }
      const id = entry - 1;
      if (this.hashes[id] === hash && this.lengths[id] === length && this.sameBytes(id, bytes, start, length)) return id;
    }
  }

  /** A term as a binary string (latin1 of its UTF-8 bytes), the form segments store and sort. */
  term(id: number): string {
    const start = this.starts[id]!;
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + start, this.lengths[id]!).toString('latin1');
  }

  private sameBytes(id: number, bytes: Uint8Array, start: number, length: number): boolean {
    const arena = this.arena;
    const at = this.starts[id]!;
    for (let i = 0; i < length; i++) if (arena[at + i] !== bytes[start + i]) return false;
    return true;
  }

  private add(bytes: Uint8Array, start: number, length: number, hash: number): number {
    const id = this.size++;
    if (id >= this.hashes.length) {
      this.hashes = grownInt32(this.hashes, id + 1);
      this.starts = grownInt32(this.starts, id + 1);
      this.lengths = grownInt32(this.lengths, id + 1);
    }
    if (this.arenaUsed + length > this.arena.length) {
      let capacity = this.arena.length * 2;
      while (capacity < this.arenaUsed + length) capacity *= 2;
      const arena = new Uint8Array(capacity);
      arena.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = arena;
    }
    this.arena.set(bytes.subarray(start, start + length), this.arenaUsed);
    this.hashes[id] = hash;
    this.starts[id] = this.arenaUsed;
    this.lengths[id] = length;
    this.arenaUsed += length;
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.size; id++) {
      let slot = this.hashes[id]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.slots = slots;
  }
}

export function grownInt32(array: Int32Array, atLeast: number): Int32Array {
  let size = array.length * 2;
  while (size < atLeast) size *= 2;
  const copy = new Int32Array(size);
  copy.set(array);
  return copy;
}
