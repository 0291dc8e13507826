// Posting lists: for one term and one segment, the messages it occurs in (ascending ids), the
// fields of each, and its positions. The ids and masks come first so that a query that needs no
// positions (most) decodes only that part.
//
//   varint docCount, varint docsSectionBytes,
//   docs section:      per message: varint (docId − previous docId), varint fieldMask
//   positions section: per message: varint count, count varints (deltas of encoded positions, fields.ts)
import { Bitset } from './bitset.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { forEachDocTerm } from './doc-terms.js';

/**
 * The postings of a run of new messages (a segment). Messages are kept as their workers encoded
 * them (doc-terms.ts) and inverted only when the segment is written: per message that is one array
 * push, and the inversion is a counting sort over flat typed arrays, with no object per term.
 */
export class SegmentBuilder {
  private readonly payloads: Uint8Array[] = [];
  private readonly docIds: number[] = [];
  /** Bytes of the payloads held, to bound memory. */
  bytes = 0;

  add(docId: number, terms: Uint8Array): void {
    this.payloads.push(terms);
    this.docIds.push(docId);
    this.bytes += terms.length;
  }

  get docs(): number {
    return this.docIds.length;
  }

  get firstDoc(): number {
    return this.docIds[0] ?? 0;
  }

  get lastDoc(): number {
    return this.docIds[this.docIds.length - 1] ?? 0;
  }

  /**
   * Inverts the messages added: the segment's terms, sorted, and their posting lists. It yields to
   * the event loop every few hundred messages, so that SMTP sessions are answered meanwhile.
   */
  async invert(): Promise<InvertedSegment> {
    const { payloads, docIds } = this;
    // Pass 1: every occurrence of a term in a message: (term id, message index, offset of its mask).
    const termIds = new Map<string, number>();
    const terms: string[] = [];
    let occurrences: Int32Array = new Int32Array(1 << 16);
    let used = 0;
    let counts: Int32Array = new Int32Array(1 << 14);
    for (let docIndex = 0; docIndex < payloads.length; docIndex++) {
      if (docIndex % YIELD_EVERY_DOCS === YIELD_EVERY_DOCS - 1) await new Promise((resolve) => setImmediate(resolve));
      forEachDocTerm(payloads[docIndex]!, (term, _mask, maskOffset) => {
        let id = termIds.get(term);
        if (id === undefined) {
          id = terms.length;
          termIds.set(term, id);
          terms.push(term);
          if (id >= counts.length) counts = grow(counts, id + 1);
        }
        counts[id]!++;
        if (used + 3 > occurrences.length) occurrences = grow(occurrences, used + 3);
        occurrences[used++] = id;
        occurrences[used++] = docIndex;
        occurrences[used++] = maskOffset;
      });
    }
    // Pass 2: counting sort by term; within a term the messages stay in id order.
    const starts = new Int32Array(terms.length + 1);
    for (let id = 0; id < terms.length; id++) starts[id + 1] = starts[id]! + counts[id]!;
    const order = new Int32Array(used / 3);
    const fill = starts.slice(0, terms.length);
    for (let at = 0; at < used; at += 3) order[fill[occurrences[at]!]!++] = at;
    const sorted = await sortedTermIds(terms);

    function* entries(): Generator<[string, Buffer]> {
      const docs = new ByteWriter(1 << 12);
      const positions = new ByteWriter(1 << 14);
      const out = new ByteWriter(1 << 14);
      const reader = new ByteReader(Buffer.alloc(0));
      for (const id of sorted) {
        docs.length = 0;
        positions.length = 0;
        let previous = 0;
        for (let k = starts[id]!; k < starts[id + 1]!; k++) {
          const at = order[k]!;
          const docIndex = occurrences[at + 1]!;
          const payload = payloads[docIndex]!;
          reader.reset(payload, occurrences[at + 2]!);
          const docId = docIds[docIndex]!;
          docs.varint(docId - previous);
          docs.varint(reader.varint());
          previous = docId;
          const positionsStart = reader.offset;
          reader.skipVarints(reader.varint());
          positions.append(payload, positionsStart, reader.offset);
        }
        out.length = 0;
        out.varint(starts[id + 1]! - starts[id]!);
        out.varint(docs.length);
        out.append(docs.view());
        out.append(positions.view());
        // A view of `out`, valid until the next step: the caller copies what it keeps.
        yield [terms[id]!, out.view()];
      }
    }
    return { entries };
  }
}

/**
 * A segment ready to write: its terms in byte order with their postings, generated one at a time;
 * each posting is a view that the next step overwrites.
 */
export interface InvertedSegment {
  entries(): Generator<[string, Buffer]>;
}

const YIELD_EVERY_DOCS = 256;

/**
 * Term ids in byte order of their terms (binary strings compare as bytes), which is how a segment
 * is stored: bucketed by first byte and each bucket sorted on its own, yielding between buckets,
 * so that a large segment's sort does not hold up the event loop in one piece.
 */
async function sortedTermIds(terms: readonly string[]): Promise<number[]> {
  const buckets: number[][] = Array.from({ length: 256 }, () => []);
  terms.forEach((term, id) => buckets[term.charCodeAt(0) & 0xff]!.push(id));
  const sorted: number[] = [];
  let sinceYield = 0;
  for (const bucket of buckets) {
    bucket.sort((a, b) => (terms[a]! < terms[b]! ? -1 : 1));
    for (const id of bucket) sorted.push(id);
    sinceYield += bucket.length;
    if (sinceYield >= 16_384) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return sorted;
}

function grow(array: Int32Array, atLeast: number): Int32Array {
  let size = array.length * 2;
  while (size < atLeast) size *= 2;
  const grown = new Int32Array(size);
  grown.set(array);
  return grown;
}

/** Adds to `into` every message of the posting whose field mask meets `mask`; false when there was none. */
export function addPostingDocs(posting: Uint8Array, mask: number, into: Bitset): boolean {
  const reader = new ByteReader(posting);
  const count = reader.varint();
  reader.varint();
  let doc = 0;
  let found = false;
  for (let i = 0; i < count; i++) {
    doc += reader.varint();
    if ((reader.varint() & mask) !== 0) {
      into.add(doc);
      found = true;
    }
  }
  return found;
}

/**
 * Walks a posting list in message order, decoding positions only for the messages asked for
 * (phrase matching).
 */
export class PostingCursor {
  private readonly docs: ByteReader;
  private readonly positions: ByteReader;
  private left: number;
  private unread = 0;
  doc = 0;

  constructor(posting: Uint8Array) {
    this.docs = new ByteReader(posting);
    this.left = this.docs.varint();
    const docsBytes = this.docs.varint();
    this.positions = new ByteReader(posting, this.docs.offset + docsBytes);
  }

  /** Moves to the first message at or after `target`; false when there is none. */
  seek(target: number): boolean {
    while (this.doc < target) {
      if (this.left === 0) return false;
      this.positions.skipVarints(this.unread);
      this.doc += this.docs.varint();
      this.docs.varint();
      this.unread = this.positions.varint();
      this.left--;
    }
    return true;
  }

  /** The current message's encoded positions (fields.ts), ascending, into `out`. */
  readPositions(out: number[]): void {
    out.length = 0;
    let encoded = 0;
    for (let i = 0; i < this.unread; i++) out.push((encoded += this.positions.varint()));
    this.unread = 0;
  }
}

/** A copy of the posting list without its positions section: enough for every query but phrases. */
export function postingWithoutPositions(posting: Buffer): Buffer {
  const reader = new ByteReader(posting);
  reader.varint();
  const docsBytes = reader.varint();
  return Buffer.from(posting.subarray(0, reader.offset + docsBytes));
}

/** Merges posting lists of consecutive segments (ascending, disjoint ids) into one. */
export function concatPostings(postings: readonly Uint8Array[]): Buffer {
  // A term of one segment only (most terms: message ids, addresses) is copied as it is.
  if (postings.length === 1) return Buffer.from(postings[0]!);
  const docs = new ByteWriter(1024);
  const positions = new ByteWriter(1024);
  let total = 0;
  let previous = 0;
  for (const posting of postings) {
    const reader = new ByteReader(posting);
    const count = reader.varint();
    const docsBytes = reader.varint();
    const docsEnd = reader.offset + docsBytes;
    let doc = 0;
    for (let i = 0; i < count; i++) {
      doc += reader.varint();
      docs.varint(doc - previous);
      docs.varint(reader.varint());
      previous = doc;
    }
    positions.append(posting, docsEnd);
    total += count;
  }
  const out = new ByteWriter(docs.length + positions.length + 10);
  out.varint(total);
  out.varint(docs.length);
  out.append(docs.view());
  out.append(positions.view());
  return out.toBuffer();
}

