// A segment's terms stored as sorted blocks of entries, a few kilobytes each, keyed by their first
// term: a segment of 100,000 terms is a few hundred LevelDB records instead of 100,000, which is
// what keeps indexing fast and the index small (most terms of a mailbox occur in one message only:
// message ids, addresses, numbers). A term is found through the segment's directory (its blocks'
// first terms, read once and cached), so a lookup is a binary search and one read.
//
//   block: varint entryCount, entries: varint termBytes, term, varint valueBytes, value
//
// Terms are compared as bytes; in memory they are "binary strings" (latin1 of their UTF-8 bytes),
// whose default JavaScript order is exactly the byte order.
import { ByteReader, ByteWriter } from './bytes.js';

export const BLOCK_TARGET_BYTES = 8 * 1024;

/** Cuts sorted entries into blocks; `emit` receives each block's first term and bytes. */
export class BlockWriter {
  private readonly block = new ByteWriter(BLOCK_TARGET_BYTES * 2);
  private entries = 0;
  private first = '';
  private body = new ByteWriter(BLOCK_TARGET_BYTES * 2);

  constructor(private readonly emit: (firstTerm: string, block: Buffer) => void) {}

  add(term: string, value: Uint8Array): void {
    if (this.entries === 0) this.first = term;
    this.body.binary(term);
    this.body.varint(value.length);
    this.body.append(value);
    this.entries++;
    if (this.body.length >= BLOCK_TARGET_BYTES) this.finishBlock();
  }

  /** Emits the last, partial block. */
  end(): void {
    if (this.entries > 0) this.finishBlock();
  }

  private finishBlock(): void {
    this.block.length = 0;
    this.block.varint(this.entries);
    this.block.append(this.body.view());
    this.emit(this.first, this.block.toBuffer());
    this.entries = 0;
    this.body.length = 0;
  }
}

/** Calls visit(term, valueStart, valueEnd) for each entry of a block, in order; stops when it returns false. */
export function scanBlock(block: Buffer, visit: (term: string, valueStart: number, valueEnd: number) => boolean | void): void {
  const reader = new ByteReader(block);
  const count = reader.varint();
  for (let i = 0; i < count; i++) {
    const termLength = reader.varint();
    const term = block.toString('latin1', reader.offset, reader.offset + termLength);
    reader.offset += termLength;
    const valueLength = reader.varint();
    const valueStart = reader.offset;
    reader.offset += valueLength;
    if (visit(term, valueStart, reader.offset) === false) return;
  }
}

/** The value of `term` in a block, or undefined. */
export function findInBlock(block: Buffer, term: string): Buffer | undefined {
  let found: Buffer | undefined;
  scanBlock(block, (candidate, start, end) => {
    if (candidate < term) return true;
    if (candidate === term) found = block.subarray(start, end);
    return false;
  });
  return found;
}

/** A segment's block directory: the sorted first terms of its blocks. */
export class BlockDirectory {
  constructor(readonly firstTerms: readonly string[]) {}

  /** Index of the block that would hold `term`, or -1 when it sorts before every block. */
  blockOf(term: string): number {
    let low = 0;
    let high = this.firstTerms.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.firstTerms[middle]! <= term) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Indexes of the blocks that may hold terms in [from, to) (binary strings). */
  blocksBetween(from: string, to: string): number[] {
    const blocks: number[] = [];
    for (let i = Math.max(0, this.blockOf(from)); i < this.firstTerms.length && this.firstTerms[i]! < to; i++) blocks.push(i);
    return blocks;
  }
}

/** The smallest binary string greater than every string starting with prefix. */
export function prefixEnd(prefix: string): string {
  let end = prefix;
  while (end.length > 0 && end.charCodeAt(end.length - 1) === 0xff) end = end.slice(0, -1);
  if (end.length === 0) return '\u0100';
  return end.slice(0, -1) + String.fromCharCode(end.charCodeAt(end.length - 1) + 1);
}

/** A term as a binary string (its UTF-8 bytes as latin1). */
export const binary = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** A binary string back to text. */
export const textOf = (term: string): string => Buffer.from(term, 'latin1').toString('utf8');

/** The term spelt backwards (by character), as a binary string: the reversed dictionary's key. */
export function reversedBinary(term: string): string {
  const length = term.length;
  if (reversal.length < length) reversal = Buffer.allocUnsafeSlow(Math.max(length, reversal.length * 2));
  for (let i = 0; i < length; i++) {
    const code = term.charCodeAt(length - 1 - i);
    // Beyond ASCII a character is several bytes: reverse the characters, not the bytes.
    if (code >= 0x80) return binary(Array.from(textOf(term)).reverse().join(''));
    reversal[i] = code;
  }
  return reversal.toString('latin1', 0, length);
}

/** Scratch space of reversedBinary (one string reversed at a time, synchronously). */
let reversal = Buffer.allocUnsafeSlow(256);
