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

  isEmpty(): boolean {
    return this.words.every((word) => word === 0);
  }
}
