// Opens the archive store and answers every read. Writes go only through the Writer (writer.ts),
// which the ingest pipeline owns; this facade hands out one writer per open store.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { CofferError, ErrorCodes } from '../errors.js';
import { decodeEntry, decodeMessageMeta, decodeRecord, encodeRecord } from './codec.js';
import { decodeChange, decodeEntryKey, decodeMessageValue, decodeRefKey, FORMAT_VERSION, INITIAL_COUNTERS, InfoKeys, keys, prefixRange, SEARCH_SUBLEVELS, Sublevels, type Listing, type SearchSublevelName, type SublevelName } from './layout.js';
import type { ArchiveRecord, Counters, EntryRecord, FolderRecord, MessageMeta, StoreInfo } from './records.js';
import { ProfileState } from './profile-state.js';
import { createSealer, type Sealer } from './sealing.js';
import { Writer } from './writer.js';

export interface StoreOptions {
  dataDir: string;
  /** AES-256 key (32 bytes) when content is to be encrypted at rest. */
  encryptionKey: Buffer | null;
}

type Database = Level<Buffer, Buffer>;

function makeSublevel(db: Database, name: SublevelName) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

export type Keyspaces = Record<SublevelName, ReturnType<typeof makeSublevel>>;
export type Keyspace = Keyspaces[SublevelName];

export type IndexBatchOp =
  | { type: 'put'; sublevel: Keyspace; key: Buffer; value: Buffer }
  | { type: 'del'; sublevel: Keyspace; key: Buffer };

export interface SearchAccess {
  spaces: Record<SearchSublevelName, Keyspace>;
  /** Seals index values as the store's are (encrypted with the store's key, if any). */
  sealer: Sealer;
  /** One atomic batch, not fsync'd: the index is derived data, and its cursor is in the same batch. */
  batch(ops: IndexBatchOp[]): Promise<void>;
  /** A consistent read view of the whole database, to be closed after use. */
  snapshot(): StoreSnapshot;
}

export type StoreSnapshot = ReturnType<Database['snapshot']>;

const KEY_CHECK_PLAIN = Buffer.from('coffer key check');


export class ArchiveStore {
  readonly dataDir: string;
  readonly sealer: Sealer;
  readonly info: StoreInfo;
  private readonly db: Database;
  private readonly spaces: Keyspaces;
  private writer: Writer | undefined;

  private constructor(dataDir: string, db: Database, spaces: Keyspaces, sealer: Sealer, info: StoreInfo) {
    this.dataDir = dataDir;
    this.db = db;
    this.spaces = spaces;
    this.sealer = sealer;
    this.info = info;
  }

  static async open(options: StoreOptions): Promise<ArchiveStore> {
    const location = join(options.dataDir, 'store');
    try {
      mkdirSync(location, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new CofferError(ErrorCodes.StoreUnavailable, `cannot create data directory ${options.dataDir}`, { cause: err });
    }
    const db: Database = new Level<Buffer, Buffer>(location, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      // The memtable: writes in memory until they go to a table file (twice this while one is written).
      writeBufferSize: 2 * 1024 * 1024,
      // LevelDB maps table files for reading, and every page a compaction, an index merge or a
      // range delete has read stays resident until the file is closed. Small files in a small
      // table cache (LevelDB's minimum) bound that to 64 × 1 MB instead of growing with the store
      // (a 100,000-message import: 288 → ≤ 26 MB, no slower; bench/README.md "Where the memory goes").
      maxFileSize: 1024 * 1024,
      maxOpenFiles: 74,
    });
    try {
      await db.open();
    } catch (err) {
      const code = (err as { cause?: { code?: string }; code?: string }).cause?.code ?? (err as { code?: string }).code;
      if (code === 'LEVEL_LOCKED') {
        throw new CofferError(ErrorCodes.StoreLocked, `the store in ${options.dataDir} is in use by another Coffer process (is the daemon running?)`, { cause: err });
      }
      throw new CofferError(ErrorCodes.StoreUnavailable, `cannot open the store in ${options.dataDir}`, { cause: err });
    }
    try {
      const spaces = Object.fromEntries(Object.values(Sublevels).map((name) => [name, makeSublevel(db, name)])) as Keyspaces;
      const sealer = createSealer(options.encryptionKey);
      const info = await loadOrCreateInfo(db, spaces, sealer, options);
      return new ArchiveStore(options.dataDir, db, spaces, sealer, info);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** The store's only writer. Ingest owns it; nothing else writes. */
  getWriter(): Writer {
    this.writer ??= new Writer(this.db, this.spaces, this.sealer, this.info);
    return this.writer;
  }

  async close(): Promise<void> {
    await this.writer?.drain();
    await this.db.close();
  }

  async counters(): Promise<Counters> {
    if (this.writer) return this.writer.currentCounters();
    const value = await this.spaces.info.get(InfoKeys.counters);
    return value ? decodeRecord<Counters>(value) : { ...INITIAL_COUNTERS };
  }

  async listArchives(): Promise<ArchiveRecord[]> {
    const archives: ArchiveRecord[] = [];
    for await (const value of this.spaces.archive.values()) archives.push(decodeRecord<ArchiveRecord>(value));
    return archives.sort((a, b) => a.name.localeCompare(b.name));
  }

  async getArchive(name: string): Promise<ArchiveRecord | undefined> {
    const value = await this.spaces.archive.get(Buffer.from(name, 'utf8'));
    return value && decodeRecord<ArchiveRecord>(value);
  }

  async requireArchive(name: string): Promise<ArchiveRecord> {
    const archive = await this.getArchive(name);
    if (!archive) throw new CofferError(ErrorCodes.NotFound, `no archive named "${name}"`);
    return archive;
  }

  /** Folders of an archive, sorted by path. */
  async listFolders(archiveId: number): Promise<FolderRecord[]> {
    const ids: Buffer[] = [];
    for await (const value of this.spaces.folderPath.values(prefixRange(keys.folderPathPrefix(archiveId)))) ids.push(value);
    const values = await this.spaces.folder.getMany(ids);
    return values
      .filter((value): value is Buffer => value !== undefined)
      .map((value) => decodeRecord<FolderRecord>(value))
      .sort((a, b) => comparePaths(a.path, b.path));
  }

  async getFolder(archiveId: number, path: readonly string[]): Promise<FolderRecord | undefined> {
    const id = await this.spaces.folderPath.get(keys.folderPath(archiveId, path));
    return id ? this.getFolderById(id.readUInt32BE(0)) : undefined;
  }

  async getFolderById(folderId: number): Promise<FolderRecord | undefined> {
    const value = await this.spaces.folder.get(keys.folder(folderId));
    return value && decodeRecord<FolderRecord>(value);
  }

  /** Every listing in a folder, in UID order. */
  async *entries(folderId: number): AsyncIterable<{ uid: number; entry: EntryRecord }> {
    for await (const [key, value] of this.spaces.entry.iterator(prefixRange(keys.entryPrefix(folderId)))) {
      yield { uid: decodeEntryKey(key).uid, entry: decodeEntry(value) };
    }
  }

  /** The UIDs listed in a folder above `afterUid`, ascending; keys only, no records decoded. */
  async folderUids(folderId: number, afterUid = 0): Promise<number[]> {
    const uids: number[] = [];
    const iterator = this.spaces.entry.keys({ gt: keys.entry(folderId, afterUid), lt: prefixRange(keys.entryPrefix(folderId)).lt });
    try {
      // In batches: SELECT of a large folder reads every key, and a round trip per key is most of it.
      for (let batch = await iterator.nextv(4096); batch.length; batch = await iterator.nextv(4096)) {
        for (const key of batch) uids.push(decodeEntryKey(key).uid);
      }
    } finally {
      await iterator.close();
    }
    return uids;
  }

  async getEntry(folderId: number, uid: number): Promise<EntryRecord | undefined> {
    const value = await this.spaces.entry.get(keys.entry(folderId, uid));
    return value && decodeEntry(value);
  }

  /** Several listings in one read (search results). */
  async getEntries(listings: readonly { folderId: number; uid: number }[]): Promise<(EntryRecord | undefined)[]> {
    if (!listings.length) return [];
    const values = await this.spaces.entry.getMany(listings.map(({ folderId, uid }) => keys.entry(folderId, uid)));
    return values.map((value) => value && decodeEntry(value));
  }

  /** Several messages' metadata in one read (search results). */
  async getMessages(shas: readonly Buffer[]): Promise<(MessageMeta | undefined)[]> {
    if (!shas.length) return [];
    const values = await this.spaces.message.getMany([...shas]);
    return values.map((value, i) => value && decodeMessageMeta(this.sealer.open(decodeMessageValue(value).sealedMeta, shas[i]!)));
  }

  async getMessage(sha: Buffer): Promise<MessageMeta | undefined> {
    const value = await this.spaces.message.get(sha);
    return value && decodeMessageMeta(this.sealer.open(decodeMessageValue(value).sealedMeta, sha));
  }

  /** The archived bytes, exactly as received. */
  async readRaw(sha: Buffer): Promise<Buffer> {
    const value = await this.spaces.message.get(sha);
    if (!value) throw new CofferError(ErrorCodes.NotFound, `message ${sha.toString('hex')} is not stored`);
    const blob = await this.spaces.blob.get(keys.blob(decodeMessageValue(value).blobId));
    if (!blob) throw new CofferError(ErrorCodes.StoreCorrupt, `the content of message ${sha.toString('hex')} is missing`);
    // The SHA-256 is the associated data: a blob opened under the wrong message fails to open.
    return this.sealer.open(blob, sha);
  }

  /** Several messages' archived bytes in two reads (IMAP FETCH). */
  async readRaws(shas: readonly Buffer[]): Promise<Buffer[]> {
    if (!shas.length) return [];
    const values = await this.spaces.message.getMany([...shas]);
    const blobIds = values.map((value, i) => {
      if (!value) throw new CofferError(ErrorCodes.NotFound, `message ${shas[i]!.toString('hex')} is not stored`);
      return keys.blob(decodeMessageValue(value).blobId);
    });
    const blobs = await this.spaces.blob.getMany(blobIds);
    return blobs.map((blob, i) => {
      if (!blob) throw new CofferError(ErrorCodes.StoreCorrupt, `the content of message ${shas[i]!.toString('hex')} is missing`);
      return this.sealer.open(blob, shas[i]!);
    });
  }

  /** Every folder listing of a stored message. */
  async listingsOf(sha: Buffer): Promise<Listing[]> {
    const listings: Listing[] = [];
    for await (const key of this.spaces.ref.keys(prefixRange(sha))) listings.push(decodeRefKey(key));
    return listings;
  }

  /** Listings removed from a folder after `afterMark` (layout.ts `unlisted`), in mark order. */
  async unlistedSince(folderId: number, afterMark: number): Promise<{ mark: number; uid: number }[]> {
    const removed: { mark: number; uid: number }[] = [];
    const range = { gt: keys.unlisted(folderId, afterMark), lt: prefixRange(keys.entryPrefix(folderId)).lt };
    for await (const [key, value] of this.spaces.unlisted.iterator(range)) removed.push({ mark: key.readUInt32BE(4), uid: value.readUInt32BE(0) });
    return removed;
  }

  /** The change feed from seq on, in commit order. */
  async *changes(fromSeq = 1): AsyncIterable<{ seq: number; folderId: number; uid: number; sha: Buffer | undefined; removed: boolean }> {
    for await (const [key, value] of this.spaces.change.iterator({ gte: keys.change(fromSeq) })) {
      yield { seq: Number(key.readBigUInt64BE(0)), ...decodeChange(value) };
    }
  }

  /** The blob id (the search index's document id) and metadata of a stored message. */
  async getStoredMessage(sha: Buffer): Promise<{ blobId: number; meta: MessageMeta } | undefined> {
    const value = await this.spaces.message.get(sha);
    if (!value) return undefined;
    const { blobId, sealedMeta } = decodeMessageValue(value);
    return { blobId, meta: decodeMessageMeta(this.sealer.open(sealedMeta, sha)) };
  }

  /** The search index's keyspaces and a way to write them: only the indexer (search/) uses these. */
  searchAccess(): SearchAccess {
    const spaces = Object.fromEntries(SEARCH_SUBLEVELS.map((name) => [name, this.spaces[name]])) as SearchAccess['spaces'];
    return { spaces, sealer: this.sealer, batch: (ops) => this.db.batch(ops), snapshot: () => this.db.snapshot() };
  }

  /** What archiving profiles remember between runs; written through the store's writer. */
  profileState(): ProfileState {
    return new ProfileState({ sourceItem: this.spaces.sourceItem, profileRun: this.spaces.profileRun }, this.getWriter());
  }

  /** Raw access for integrity checking (verify.ts) only. */
  keyspacesForVerification(): Keyspaces {
    return this.spaces;
  }
}

export function openStore(options: StoreOptions): Promise<ArchiveStore> {
  return ArchiveStore.open(options);
}

async function loadOrCreateInfo(db: Database, spaces: Keyspaces, sealer: Sealer, options: StoreOptions): Promise<StoreInfo> {
  const save = (info: StoreInfo) => db.batch([{ type: 'put', sublevel: spaces.info, key: InfoKeys.info, value: encodeRecord(info) }], { sync: true });
  const existing = await spaces.info.get(InfoKeys.info);
  if (!existing) {
    const info: StoreInfo = { formatVersion: FORMAT_VERSION, createdAt: Date.now() };
    if (sealer.encrypts) info.keyCheck = sealer.seal(KEY_CHECK_PLAIN, InfoKeys.info);
    await save(info);
    return info;
  }
  const info = decodeRecord<StoreInfo>(existing);
  if (info.formatVersion !== FORMAT_VERSION) {
    throw new CofferError(ErrorCodes.StoreUnavailable, `store format ${info.formatVersion} is not supported by this version (expects ${FORMAT_VERSION})`);
  }
  if (info.keyCheck) {
    if (!sealer.encrypts) {
      throw new CofferError(ErrorCodes.KeyMissing, `the store in ${options.dataDir} is encrypted: configure encryption.keyFile`);
    }
    let plain: Buffer | undefined;
    try {
      plain = sealer.open(info.keyCheck, InfoKeys.info);
    } catch {
      plain = undefined;
    }
    if (!plain?.equals(KEY_CHECK_PLAIN)) {
      throw new CofferError(ErrorCodes.KeyMismatch, `the encryption key in the configured key file does not open the store in ${options.dataDir}`);
    }
  } else if (sealer.encrypts) {
    // Encryption switched on for an existing plain store: new content is encrypted from now on,
    // and from now on the store refuses to open without this key.
    info.keyCheck = sealer.seal(KEY_CHECK_PLAIN, InfoKeys.info);
    await save(info);
  }
  return info;
}

export function comparePaths(a: readonly string[], b: readonly string[]): number {
  return a.join('\u0000').localeCompare(b.join('\u0000'));
}
