// Variable-length integers (LEB128: 7 bits a byte, low first) over growable byte arrays: the
// encoding of everything the search index stores, chosen because posting lists are mostly
// small deltas that fit in one byte.

export class ByteWriter {
  private bytes: Buffer;
  length = 0;

  constructor(initialCapacity = 32) {
    this.bytes = Buffer.allocUnsafeSlow(initialCapacity);
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
    // Short runs (most positions are a few bytes) are cheaper to copy than to take a subarray of.
    if (end - start <= 16) for (let i = start; i < end; i++) this.bytes[this.length++] = source[i]!;
    else {
      this.bytes.set(source.subarray(start, end), this.length);
      this.length += end - start;
    }
  }

  /** A string as varint byte length + UTF-8 bytes. */
  utf8(text: string): void {
    // Most terms are a few ASCII characters: copied here, without two calls into C++.
    if (text.length < 0x80 && this.ascii(text)) return;
    const length = Buffer.byteLength(text, 'utf8');
    this.varint(length);
    this.reserve(length);
    // As many bytes as characters: ASCII, which latin1 writes faster.
    this.bytes.write(text, this.length, length === text.length ? 'latin1' : 'utf8');
    this.length += length;
  }

  /** Writes text as utf8() does if it is ASCII (and shorter than 128, a one-byte length); false, writing nothing, if not. */
  private ascii(text: string): boolean {
    const length = text.length;
    this.reserve(length + 1);
    const bytes = this.bytes;
    const at = this.length + 1;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) return false;
      bytes[at + i] = code;
    }
    bytes[this.length] = length;
    this.length = at + length;
    return true;
  }

  /** A binary string (one byte per character) as varint length + those bytes. */
  binary(bytes: string): void {
    this.varint(bytes.length);
    this.reserve(bytes.length);
    this.bytes.write(bytes, this.length, 'latin1');
    this.length += bytes.length;
  }

  /** A copy of what was written, as a Buffer that owns its memory. */
  toBuffer(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.length));
  }

  /** The written bytes without copying; valid until the next write. */
  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = Buffer.allocUnsafeSlow(capacity);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }
}

export class ByteReader {
  constructor(
    public bytes: Uint8Array,
    public offset = 0,
    public end = bytes.length,
  ) {}

  /** Reads another array from `offset`, reusing this reader (hot loops). */
  reset(bytes: Uint8Array, offset = 0): void {
    this.bytes = bytes;
    this.offset = offset;
    this.end = bytes.length;
  }

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
