// Variable-length integers (LEB128: 7 bits a byte, low first) over growable byte arrays: the
// encoding of everything the search index stores, chosen because posting lists are mostly
// small deltas that fit in one byte.

export class ByteWriter {
  private bytes: Uint8Array;
  length = 0;

  constructor(initialCapacity = 32) {
    this.bytes = new Uint8Array(initialCapacity);
  }

  varint(value: number): void {
    this.reserve(8);
    let n = value;
    while (n >= 0x80) {
      this.bytes[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.bytes[this.length++] = n;
  }

  append(source: Uint8Array, start = 0, end = source.length): void {
    this.reserve(end - start);
    this.bytes.set(source.subarray(start, end), this.length);
    this.length += end - start;
  }

  /** A copy of what was written, as a Buffer that owns its memory. */
  toBuffer(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.length));
  }

  /** The written bytes without copying; valid until the next write. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

export class ByteReader {
  constructor(
    readonly bytes: Uint8Array,
    public offset = 0,
    readonly end = bytes.length,
  ) {}

  get done(): boolean {
    return this.offset >= this.end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.end) throw new RangeError('truncated varint');
      const byte = this.bytes[this.offset++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
  }

  /** Skips count varints without decoding them. */
  skipVarints(count: number): void {
    for (let left = count; left > 0; ) {
      if (this.offset >= this.end) throw new RangeError('truncated varint');
      if (this.bytes[this.offset++]! < 0x80) left--;
    }
  }
}
