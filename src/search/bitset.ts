// A set of document ids as a bitmap: every query criterion evaluates to one, so AND, OR and NOT
// of any criteria are word-wise operations whatever the order the ids were found in.

export class Bitset {
  readonly words: Uint32Array;

  /** A set able to hold ids 0 … size-1. */
  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  /** The set of ids from … size-1. */
  static range(from: number, size: number): Bitset {
    const set = new Bitset(size);
    set.words.fill(0xffffffff);
    const tail = size % 32;
    if (tail) set.words[set.words.length - 1] = 2 ** tail - 1;
    for (let id = 0; id < Math.min(from, size); id++) set.words[id >>> 5]! &= ~(1 << (id & 31));
    return set;
  }

  add(id: number): void {
    if (id >= 0 && id < this.size) this.words[id >>> 5]! |= 1 << (id & 31);
  }

  has(id: number): boolean {
    return id >= 0 && id < this.size && (this.words[id >>> 5]! & (1 << (id & 31))) !== 0;
  }

  and(other: Bitset): this {
    const { words } = this;
    for (let i = 0; i < words.length; i++) words[i]! &= other.words[i] ?? 0;
    return this;
  }

  or(other: Bitset): this {
    const { words } = this;
    for (let i = 0; i < words.length; i++) words[i]! |= other.words[i] ?? 0;
    return this;
  }

  andNot(other: Bitset): this {
    const { words } = this;
    for (let i = 0; i < words.length; i++) words[i]! &= ~(other.words[i] ?? 0);
    return this;
  }

  /** Calls visit for each id in the set from `from` to `to` inclusive, ascending. */
  forEachBetween(from: number, to: number, visit: (id: number) => void): void {
    const last = Math.min(to, this.size - 1);
    for (let i = Math.max(0, from) >>> 5; i <= last >>> 5; i++) {
      let word = this.words[i]!;
      while (word !== 0) {
        const low = word & -word;
        const id = i * 32 + 31 - Math.clz32(low);
        word ^= low;
        if (id >= from && id <= last) visit(id);
      }
    }
  }

  isEmpty(): boolean {
    return this.words.every((word) => word === 0);
  }
}
