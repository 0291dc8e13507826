// The store's keyspaces: one LevelDB at <dataDir>/store, one named sublevel per keyspace. This
// comment is the single description of the on-disk layout. Keys are binary and fixed-width where
// numeric (big-endian), so they sort; values are msgpack records (records.ts) unless noted.
//
//   info        'info'                          → StoreInfo (format version, key check)
//               'counters'                      → Counters
//   blob        blobId(u64)                     → sealed raw message bytes (compressed, maybe encrypted)
//   message     sha256(32)                      → blobId(u64) + sealed MessageMeta
//   archive     utf8 archive name               → ArchiveRecord
//   folder      folderId(u32)                   → FolderRecord
//   folderPath  archiveId(u32) + utf8 path      → folderId(u32)     path segments joined by '/'
//   entry       folderId(u32) + uid(u32)        → EntryRecord       a message listed in a folder
//   entrySha    folderId(u32) + sha256(32)      → uid(u32)          dedupe within a folder
//   ref         sha256(32) + folderId(u32) + uid(u32) → empty       every listing of a message
//   change      seq(u64)                        → folderId(u32) + uid(u32) + sha256(32) [+ 0x01 when removed]
//                                                 append-only feed of listings added and removed, in commit order
//                                                 (records written before re-filing existed lack the sha)
//   unlisted    folderId(u32) + mark(u32)       → uid(u32)          a listing removed from the folder
//
// Archived content is never removed, but a listing can be: when a profile sees a message moved
// to another folder at its source, it re-files the message (connectors/imap/refile.ts). The removal
// takes the folder's next UID as its `mark`, so open IMAP sessions learn of it in the same UID
// order as of new listings (imap/notifier.ts); the change record tells the search index.
//
// Archiving profiles (src/connectors) keep what they pulled from each source mailbox, so that runs
// are incremental and deletion rules can prove a message was archived; and their run history.
//
//   sourceItem  scope + itemId                  → SourceItemRecord: the content it became, when
//               scope: utf8 profile \0 mailbox \0 folder \0  (names never contain NUL)
//               itemId: IMAP uidValidity(u32) + uid(u32); POP3 utf8 UIDL
//   profileRun  utf8 profile \0 + startedAt(u64) + seq(u32) → RunRecord, one per run, oldest first
//
// The search index (src/search) is derived from the keyspaces above and can be rebuilt from them
// at any time (`coffer reindex`). Its own writer, the indexer, follows the change feed and writes
// after the store's commit, so ingest never waits for it; its cursor makes it catch up after a crash.
//
//   searchMeta   'meta'                          → IndexMeta: change-feed cursor, segment list
//   searchPost   segment(u32) + block(u32)       → sealed block of terms with their posting lists
//                                                 (search/segments.ts, term-blocks.ts, postings.ts)
//   searchRev    segment(u32) + block(u32)       → sealed block of reversed terms, for `*example.com`
//   searchDir    'p'|'r' + segment(u32)          → sealed first terms of a segment's blocks
//   searchDocs   block(u32)                      → sealed sort/filter values of 1,024 messages (search/doc-values.ts)
//   searchFolder folderId(u32) + seq(u64)        → (docId, uid) pairs: the folder's listings by content
//
// With an encryption key, every index value holding words or message values is sealed like the
// store's (without compression), and no key holds a word: the index reveals no message text.
//
// A message, its metadata, its listings, refs, change records, folder and counter updates are
// written in one batch, so a crash leaves either all of them or none.
//
// Content is addressed by SHA-256 through `message`, but stored under sequential blob ids: keys
// that only ever grow let LevelDB move finished tables down its levels without rewriting them,
// where random (hash) keys would have every compaction reread and rewrite the bulk of the store.

import type { Counters } from './records.js';

export const FORMAT_VERSION = 1;

export const Sublevels = {
  info: 'info',
  blob: 'blob',
  message: 'message',
  archive: 'archive',
  folder: 'folder',
  folderPath: 'folderPath',
  entry: 'entry',
  entrySha: 'entrySha',
  ref: 'ref',
  change: 'change',
  unlisted: 'unlisted',
  sourceItem: 'sourceItem',
  profileRun: 'profileRun',
  searchMeta: 'searchMeta',
  searchPost: 'searchPost',
  searchRev: 'searchRev',
  searchDir: 'searchDir',
  searchDocs: 'searchDocs',
  searchFolder: 'searchFolder',
} as const;

/** The keyspaces the search index owns (derived data, rebuilt by `coffer reindex`). */
export const SEARCH_SUBLEVELS = ['searchMeta', 'searchPost', 'searchRev', 'searchDir', 'searchDocs', 'searchFolder'] as const;
export type SearchSublevelName = (typeof SEARCH_SUBLEVELS)[number];

export type SublevelName = (typeof Sublevels)[keyof typeof Sublevels];

/** The two records of the `info` keyspace. */
export const InfoKeys = { info: Buffer.from('info'), counters: Buffer.from('counters') } as const;

/** Counters of a new, empty store. */
export const INITIAL_COUNTERS: Counters = {
  nextArchiveId: 1,
  nextFolderId: 1,
  nextBlobId: 1,
  nextChange: 1,
  lastUidValidity: 0,
  messages: 0,
  rawBytes: 0,
  storedBytes: 0,
};

export const SHA_BYTES = 32;
export const PATH_SEPARATOR = '/';

export function u32(value: number): Buffer {
  const key = Buffer.allocUnsafe(4);
  key.writeUInt32BE(value);
  return key;
}

export function u64(value: number): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(BigInt(value));
  return key;
}

export const BLOB_ID_BYTES = 8;

export const keys = {
  blob: (blobId: number): Buffer => u64(blobId),
  folder: (folderId: number): Buffer => u32(folderId),
  folderPath: (archiveId: number, path: readonly string[]): Buffer =>
    Buffer.concat([u32(archiveId), Buffer.from(path.join(PATH_SEPARATOR), 'utf8')]),
  folderPathPrefix: (archiveId: number): Buffer => u32(archiveId),
  entry: (folderId: number, uid: number): Buffer => Buffer.concat([u32(folderId), u32(uid)]),
  entryPrefix: (folderId: number): Buffer => u32(folderId),
  entrySha: (folderId: number, sha: Buffer): Buffer => Buffer.concat([u32(folderId), sha]),
  ref: (sha: Buffer, folderId: number, uid: number): Buffer => Buffer.concat([sha, u32(folderId), u32(uid)]),
  change: (seq: number): Buffer => u64(seq),
  unlisted: (folderId: number, mark: number): Buffer => Buffer.concat([u32(folderId), u32(mark)]),
};

export interface Listing {
  folderId: number;
  uid: number;
  sha: Buffer;
}

/** A `message` value: the id of the content blob, then the sealed metadata. */
export function encodeMessageValue(blobId: number, sealedMeta: Buffer): Buffer {
  return Buffer.concat([u64(blobId), sealedMeta]);
}

export function decodeMessageValue(value: Buffer): { blobId: number; sealedMeta: Buffer } {
  return { blobId: Number(value.readBigUInt64BE(0)), sealedMeta: value.subarray(BLOB_ID_BYTES) };
}

export function decodeEntryKey(key: Buffer): { folderId: number; uid: number } {
  return { folderId: key.readUInt32BE(0), uid: key.readUInt32BE(4) };
}

export function decodeRefKey(key: Buffer): Listing {
  return { sha: key.subarray(0, SHA_BYTES), folderId: key.readUInt32BE(SHA_BYTES), uid: key.readUInt32BE(SHA_BYTES + 4) };
}

const REMOVED = Buffer.from([1]);
const CHANGE_BYTES = 8 + SHA_BYTES;

export function encodeChange(folderId: number, uid: number, sha: Buffer, removed = false): Buffer {
  return Buffer.concat(removed ? [keys.entry(folderId, uid), sha, REMOVED] : [keys.entry(folderId, uid), sha]);
}

/**
 * A change record: a listing added to a folder, or (removed) taken out of it. The sha lets the
 * index reach content whose first listing is gone by the time it catches up.
 */
export function decodeChange(value: Buffer): { folderId: number; uid: number; sha: Buffer | undefined; removed: boolean } {
  const sha = value.length >= CHANGE_BYTES ? value.subarray(8, CHANGE_BYTES) : undefined;
  return { ...decodeEntryKey(value), sha, removed: value.length > CHANGE_BYTES && value[CHANGE_BYTES] === 1 };
}

/** Range options selecting every key that starts with prefix (prefixes here never are all 0xff). */
export function prefixRange(prefix: Buffer): { gte: Buffer; lt: Buffer } {
  const upper = Buffer.from(prefix);
  let i = upper.length - 1;
  while (i >= 0 && upper[i] === 0xff) upper[i--] = 0;
  upper[i] = (upper[i] ?? 0) + 1;
  return { gte: prefix, lt: upper };
}
