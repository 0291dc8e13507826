// Posting lists: for one term and one segment, the messages it occurs in (ascending ids), the
// fields of each, and its positions. The ids and masks come first so that a query that needs no
// positions (most) decodes only that part.
//
//   varint docCount, varint docsSectionBytes,
//   docs section:      per message: varint (docId − previous docId), varint fieldMask
//   positions section: per message: varint count, count varints (deltas of position<<4 | field)
import { Bitset } from './bitset.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { FIELD_BITS } from './fields.js';

/** A posting list being built in memory: docs and positions interleaved, split on encoding. */
class PostingBuilder {
  readonly data = new ByteWriter(16);
  lastDoc = 0;
  count = 0;
}

/** The postings of a run of new messages (a segment), built in memory as they are indexed. */
export class SegmentBuilder {
  private readonly terms = new Map<string, PostingBuilder>();
  firstDoc = 0;
  lastDoc = 0;
  docs = 0;
  /** Rough bytes held, to bound memory. */
  bytes = 0;

  /** Adds one message's term (key: UTF-8 bytes as latin1) with its encoded positions. */
  addTerm(docId: number, term: string, mask: number, positions: Uint8Array, start: number, end: number): void {
    let posting = this.terms.get(term);
    if (!posting) {
      posting = new PostingBuilder();
      this.terms.set(term, posting);
      this.bytes += 96 + term.length;
    }
    const before = posting.data.length;
    posting.data.varint(docId - posting.lastDoc);
    posting.data.varint(mask);
    posting.data.append(positions, start, end);
    this.bytes += posting.data.length - before;
    posting.lastDoc = docId;
    posting.count++;
  }

  noteDoc(docId: number): void {
    if (this.docs === 0) this.firstDoc = docId;
    this.lastDoc = docId;
    this.docs++;
  }

  get termCount(): number {
    return this.terms.size;
  }

  /** Every term (UTF-8 bytes) with its encoded posting list. */
  *encode(): Generator<[Buffer, Buffer]> {
    for (const [term, posting] of this.terms) yield [Buffer.from(term, 'latin1'), encodePosting(posting)];
  }
}

function encodePosting(posting: PostingBuilder): Buffer {
  const source = posting.data.view();
  const reader = new ByteReader(source);
  const docs = new ByteWriter(posting.count * 3);
  const positions = new ByteWriter(source.length);
  for (let i = 0; i < posting.count; i++) {
    docs.varint(reader.varint());
    docs.varint(reader.varint());
    const start = reader.offset;
    reader.skipVarints(reader.varint());
    positions.append(source, start, reader.offset);
  }
  const out = new ByteWriter(docs.length + positions.length + 10);
  out.varint(posting.count);
  out.varint(docs.length);
  out.append(docs.view());
  out.append(positions.view());
  return out.toBuffer();
}

/** Adds to `into` every message of the posting whose field mask meets `mask`. */
export function addPostingDocs(posting: Uint8Array, mask: number, into: Bitset): void {
  const reader = new ByteReader(posting);
  const count = reader.varint();
  reader.varint();
  let doc = 0;
  for (let i = 0; i < count; i++) {
    doc += reader.varint();
    if ((reader.varint() & mask) !== 0) into.add(doc);
  }
}

/**
 * The positions (position<<4 | field) of the term in each candidate message, for phrase matching.
 * Messages not in `candidates` are skipped without decoding their positions.
 */
export function postingPositions(posting: Uint8Array, candidates: Bitset, into: Map<number, number[]>): void {
  const reader = new ByteReader(posting);
  const count = reader.varint();
  const docsBytes = reader.varint();
  const positions = new ByteReader(posting, reader.offset + docsBytes);
  let doc = 0;
  for (let i = 0; i < count; i++) {
    doc += reader.varint();
    reader.varint();
    const n = positions.varint();
    if (!candidates.has(doc)) {
      positions.skipVarints(n);
      continue;
    }
    const list = into.get(doc) ?? [];
    let encoded = 0;
    for (let j = 0; j < n; j++) list.push((encoded += positions.varint()));
    into.set(doc, list);
  }
}

/** Merges posting lists of consecutive segments (ascending, disjoint ids) into one. */
export function concatPostings(postings: readonly Uint8Array[]): Buffer {
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

export const positionField = (encoded: number): number => encoded % (1 << FIELD_BITS);
export const POSITION_STEP = 1 << FIELD_BITS;
