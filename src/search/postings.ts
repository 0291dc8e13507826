// Posting lists: for one term and one segment, the messages it occurs in (ascending ids), the
// fields of each, and its positions. The ids and masks come first so that a query that needs no
// positions (most) decodes only that part.
//
//   varint docCount, varint docsSectionBytes,
//   docs section:      per message: varint (docId − previous docId), varint fieldMask
//   positions section: per message: varint count, count varints (deltas of encoded positions, fields.ts)
import { Bitset } from './bitset.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { grownInt32, TermTable } from './term-table.js';
import { TimeSlice } from './time-slice.js';

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
   * Inverts the messages added: the segment's terms, sorted, and their posting lists, in time
   * slices (time-slice.ts).
   */
  async invert(): Promise<InvertedSegment> {
    const { payloads, docIds } = this;
    const slice = new TimeSlice();
    // Pass 1: every occurrence of a term in a message, as four ints: term id, message index, field
    // mask, and where its positions start in the payload (-1: none, as for every IMAP-only term),
    // so that pass 3 goes back to a payload only for the positions it copies.
    const table = new TermTable();
    let occurrences: Int32Array = new Int32Array(1 << 16);
    let used = 0;
    let counts: Int32Array = new Int32Array(1 << 14);
    const reader = new ByteReader(Buffer.alloc(0));
    for (let docIndex = 0; docIndex < payloads.length; docIndex++) {
      if (slice.due()) await slice.yield();
      const payload = payloads[docIndex]!;
      reader.reset(payload);
      for (let left = reader.varint(); left > 0; left--) {
        const length = reader.varint();
        const id = table.intern(payload, reader.offset, length);
        reader.offset += length;
        if (id >= counts.length) counts = grownInt32(counts, id + 1);
        counts[id]!++;
        if (used + OCCURRENCE_INTS > occurrences.length) occurrences = grownInt32(occurrences, used + OCCURRENCE_INTS);
        occurrences[used] = id;
        occurrences[used + 1] = docIndex;
        occurrences[used + 2] = reader.varint();
        const positionsAt = reader.offset;
        const positions = reader.varint();
        reader.skipVarints(positions);
        occurrences[used + 3] = positions === 0 ? -1 : positionsAt;
        used += OCCURRENCE_INTS;
      }
    }
    // Pass 2: the terms in byte order, then the occurrences copied into that order (a counting
    // sort; within a term the messages stay in id order), so that pass 3 reads them sequentially
    // rather than one scattered read each.
    const termCount = table.size;
    const terms: string[] = new Array<string>(termCount);
    for (let id = 0; id < termCount; id++) {
      terms[id] = table.term(id);
      if (id % CHECK_EVERY === 0 && slice.due()) await slice.yield();
    }
    const sorted = await sortedBinary(terms, slice);
    const rank = new Int32Array(termCount);
    const starts = new Int32Array(termCount + 1);
    for (let r = 0; r < termCount; r++) {
      const id = sorted[r]!;
      rank[id] = r;
      starts[r + 1] = starts[r]! + counts[id]!;
    }
    const total = used / OCCURRENCE_INTS;
    const docOf = new Int32Array(total);
    const maskOf = new Int32Array(total);
    const positionsOf = new Int32Array(total);
    const fill = starts.slice(0, termCount);
    for (let at = 0; at < used; at += OCCURRENCE_INTS) {
      if (at % (CHECK_EVERY * OCCURRENCE_INTS) === 0 && slice.due()) await slice.yield();
      const slot = fill[rank[occurrences[at]!]!]!++;
      docOf[slot] = occurrences[at + 1]!;
      maskOf[slot] = occurrences[at + 2]!;
      positionsOf[slot] = occurrences[at + 3]!;
    }

    // Pass 3: the posting lists, in term order.
    function* entries(): Generator<[string, Buffer]> {
      const docs = new ByteWriter(1 << 12);
      const positions = new ByteWriter(1 << 14);
      const out = new ByteWriter(1 << 14);
      const reader = new ByteReader(Buffer.alloc(0));
      for (let r = 0; r < termCount; r++) {
        docs.length = 0;
        positions.length = 0;
        let previous = 0;
        for (let slot = starts[r]!; slot < starts[r + 1]!; slot++) {
          const docIndex = docOf[slot]!;
          const docId = docIds[docIndex]!;
          docs.varint(docId - previous);
          docs.varint(maskOf[slot]!);
          previous = docId;
          const positionsAt = positionsOf[slot]!;
          if (positionsAt === -1) {
            positions.varint(0);
            continue;
          }
          const payload = payloads[docIndex]!;
          reader.reset(payload, positionsAt);
          reader.skipVarints(reader.varint());
          positions.append(payload, positionsAt, reader.offset);
        }
        out.length = 0;
        out.varint(starts[r + 1]! - starts[r]!);
        out.varint(docs.length);
        out.append(docs.view());
        out.append(positions.view());
        // A view of `out`, valid until the next step: the caller copies what it keeps.
        yield [terms[sorted[r]!]!, out.view()];
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

const OCCURRENCE_INTS = 4;
/** Loops over many small items ask the clock only every this many. */
const CHECK_EVERY = 1024;

/**
 * Indexes of `terms` in byte order of the terms (binary strings compare as bytes), which is how a
 * segment is stored: bucketed by first byte and each bucket sorted on its own, so that a large
 * segment's sort can give the event loop turns between buckets.
 */
export async function sortedBinary(terms: readonly string[], slice: TimeSlice): Promise<number[]> {
  const buckets: number[][] = Array.from({ length: 256 }, () => []);
  terms.forEach((term, id) => buckets[term.charCodeAt(0) & 0xff]!.push(id));
  const sorted: number[] = [];
  for (const bucket of buckets) {
    bucket.sort((a, b) => (terms[a]! < terms[b]! ? -1 : 1));
    for (const id of bucket) sorted.push(id);
    if (slice.due()) await slice.yield();
  }
  return sorted;
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

/** Where a posting list's positions section starts: what comes before is enough for every query but phrases. */
export function positionsStart(posting: Uint8Array): number {
  const reader = new ByteReader(posting);
  reader.varint();
  const docsBytes = reader.varint();
  return reader.offset + docsBytes;
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

