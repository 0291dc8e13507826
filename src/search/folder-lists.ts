// Each folder's listings as the search needs them: which message (document id) sits under which
// UID. A query's scope (the folders a user may read, a folder and its subfolders) is evaluated on
// these compact lists rather than on the store's per-listing records. The indexer appends a chunk
// per folder at each flush; a reader decodes a folder's chunks once and caches them.
//
//   key folderId(u32) + seq(u64) → varint pairs (docId, uid), seq = the change feed cursor of the flush
//                                  a pair (0, uid) removes uid (document ids start at 1)
import { ByteReader, ByteWriter } from './bytes.js';

export interface FolderListing {
  docs: Uint32Array;
  uids: Uint32Array;
}

export function folderChunkKey(folderId: number, seq: number): Buffer {
  const key = Buffer.allocUnsafe(12);
  key.writeUInt32BE(folderId, 0);
  key.writeBigUInt64BE(BigInt(seq), 4);
  return key;
}

/** Listings waiting for the next flush, by folder. */
export class PendingFolderListings {
  private readonly folders = new Map<number, ByteWriter>();

  add(folderId: number, docId: number, uid: number): void {
    let chunk = this.folders.get(folderId);
    if (!chunk) this.folders.set(folderId, (chunk = new ByteWriter(64)));
    chunk.varint(docId);
    chunk.varint(uid);
  }

  /** A listing removed (re-filed): written as docId 0, which no document has. */
  remove(folderId: number, uid: number): void {
    this.add(folderId, REMOVED_DOC, uid);
  }

  get size(): number {
    return this.folders.size;
  }

  *chunks(): Generator<[number, Buffer]> {
    for (const [folderId, chunk] of this.folders) yield [folderId, chunk.toBuffer()];
  }
}

const REMOVED_DOC = 0;

export function decodeFolderChunks(chunks: readonly Uint8Array[]): FolderListing {
  let pairs = 0;
  for (const chunk of chunks) {
    const reader = new ByteReader(chunk);
    let varints = 0;
    while (!reader.done) {
      reader.skipVarints(1);
      varints++;
    }
    pairs += varints / 2;
  }
  const docs = new Uint32Array(pairs);
  const uids = new Uint32Array(pairs);
  let i = 0;
  let removals = 0;
  for (const chunk of chunks) {
    const reader = new ByteReader(chunk);
    while (!reader.done) {
      docs[i] = reader.varint();
      uids[i] = reader.varint();
      if (docs[i++] === REMOVED_DOC) removals++;
    }
  }
  return removals ? withoutRemoved(docs, uids) : { docs, uids };
}

/** The listings left once every removal pair has taken out its UID (UIDs are never reused). */
function withoutRemoved(docs: Uint32Array, uids: Uint32Array): FolderListing {
  const removed = new Set<number>();
  for (let i = 0; i < docs.length; i++) if (docs[i] === REMOVED_DOC) removed.add(uids[i]!);
  const keep: number[] = [];
  for (let i = 0; i < docs.length; i++) if (docs[i] !== REMOVED_DOC && !removed.has(uids[i]!)) keep.push(i);
  return { docs: Uint32Array.from(keep, (i) => docs[i]!), uids: Uint32Array.from(keep, (i) => uids[i]!) };
}

/** Decoded folder listings, least recently used dropped first, bounded by listings held. */
export class FolderListingCache {
  private readonly folders = new Map<number, FolderListing>();
  private held = 0;

  constructor(private readonly capacity: number) {}

  get(folderId: number): FolderListing | undefined {
    const found = this.folders.get(folderId);
    if (found) {
      this.folders.delete(folderId);
      this.folders.set(folderId, found);
    }
    return found;
  }

  set(folderId: number, listing: FolderListing): void {
    this.forget(folderId);
    this.folders.set(folderId, listing);
    this.held += listing.docs.length;
    for (const [id, oldest] of this.folders) {
      if (this.held <= this.capacity || id === folderId) break;
      this.folders.delete(id);
      this.held -= oldest.docs.length;
    }
  }

  forget(folderId: number): void {
    const old = this.folders.get(folderId);
    if (!old) return;
    this.folders.delete(folderId);
    this.held -= old.docs.length;
  }

  clear(): void {
    this.folders.clear();
    this.held = 0;
  }
}
