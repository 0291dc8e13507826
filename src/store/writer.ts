// The store's single writer. Every write (a new archive, a folder, a message with its listings,
// a listing's removal, the archiving profiles' state) is queued here and committed in groups:
// each group is one LevelDB batch written with fsync, so a message and everything that refers to
// it land together, and many messages share one fsync.
// Only this class assigns archive ids, folder ids, UIDVALIDITY and UIDs, so they never collide.
import type { Level } from 'level';
import { decodeMessageMeta, decodeRecord, encodeEntry, encodeRecord } from './codec.js';
import { BLOB_ID_BYTES, decodeMessageValue, encodeChange, encodeMessageValue, INITIAL_COUNTERS, InfoKeys, keys, PATH_SEPARATOR, type Listing } from './layout.js';
import type { ArchiveRecord, Counters, Direction, EntryRecord, FolderRecord, StoreInfo } from './records.js';
import type { Sealer } from './sealing.js';
import type { Keyspaces } from './store.js';

/** Where one message is to be listed. */
export interface Placement {
  archive: string;
  folder: readonly string[];
  direction: Direction;
  internalDate: number;
  origin: string;
  /** Journal intake: the envelope recipients (SMTP RCPT TO or the journal report's). */
  envelopeRecipients?: readonly string[];
}

/** A message ready to commit: sealed values prepared off the main thread. */
export interface PreparedMessage {
  sha: Buffer;
  size: number;
  sealedBlob: Buffer;
  sealedMeta: Buffer;
  placements: readonly Placement[];
  /** What the search index needs of new content, prepared with it; passed through to listeners. */
  index?: IndexPayload;
}

/** A message's terms and sort/filter values for the search index (search/doc-terms.ts). */
export interface IndexPayload {
  terms: Buffer;
  /** Date header, else the received date; ms since epoch. */
  date?: number;
  priority: number;
  attachments: boolean;
}

export interface PlacementResult {
  archive: string;
  folder: readonly string[];
  folderId: number;
  uid: number;
  /** False when the message was already listed in that folder. */
  added: boolean;
}

export interface CommitResult {
  sha: Buffer;
  /** False when the content was already stored (deduplicated). */
  newContent: boolean;
  placements: PlacementResult[];
}

/** A listing written by a commit, in change-feed order. `docId` is its content's blob id. */
export interface CommittedListing extends Listing {
  seq: number;
  archive: string;
  docId: number;
  archivedAt: number;
  internalDate: number;
}

/** A listing a commit removed: `mark` is the UID the removal took from its folder (layout.ts). */
export interface CommittedUnlisting {
  seq: number;
  folderId: number;
  uid: number;
  mark: number;
}

/** What one group commit wrote: new content (with what ingest prepared for it), new and removed listings. */
export interface CommittedGroup {
  contents: { docId: number; message: PreparedMessage }[];
  listings: CommittedListing[];
  unlistings: CommittedUnlisting[];
}

/** A message to be taken out of one folder (it stays stored, and listed wherever else it is). */
export interface Unlisting {
  archive: string;
  folder: readonly string[];
  sha: Buffer;
}

export type CommitListener = (group: CommittedGroup) => void;

/** A write to the connectors' own keyspaces (profile state: layout.ts), made durable like a message. */
export type RecordOp =
  | { type: 'put'; space: RecordSpace; key: Buffer; value: Buffer }
  | { type: 'del'; space: RecordSpace; key: Buffer };
export type RecordSpace = 'sourceItem' | 'profileRun';

type Job =
  | { kind: 'message'; message: PreparedMessage; resolve: (result: CommitResult) => void; reject: (err: unknown) => void }
  | { kind: 'folder'; archive: string; folder: readonly string[]; resolve: (result: FolderRecord) => void; reject: (err: unknown) => void }
  | { kind: 'records'; ops: readonly RecordOp[]; resolve: (result: undefined) => void; reject: (err: unknown) => void }
  | { kind: 'unlist'; unlisting: Unlisting; resolve: (result: boolean) => void; reject: (err: unknown) => void };

type Database = Level<Buffer, Buffer>;
type BatchOp =
  | { type: 'put'; sublevel: Keyspaces[keyof Keyspaces]; key: Buffer; value: Buffer }
  | { type: 'del'; sublevel: Keyspaces[keyof Keyspaces]; key: Buffer };

const MAX_GROUP = 256;

export class Writer {
  private readonly queue: Job[] = [];
  private running: Promise<void> | undefined;
  private counters: Counters | undefined;
  private readonly archives = new Map<string, ArchiveRecord>();
  private readonly folders = new Map<string, FolderRecord>();
  /** Folders that were empty when first seen: nothing in them predates this writer. */
  private readonly freshFolders = new Set<number>();
  private readonly listeners = new Set<CommitListener>();
  private mustReopen = false;

  constructor(
    private readonly db: Database,
    private readonly spaces: Keyspaces,
    readonly sealer: Sealer,
    readonly info: StoreInfo,
  ) {}

  commit(message: PreparedMessage): Promise<CommitResult> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'message', message, resolve, reject }));
  }

  /** Creates the archive and folder when missing (an import names an archive that may not exist yet). */
  ensureFolder(archive: string, folder: readonly string[]): Promise<FolderRecord> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'folder', archive, folder, resolve, reject }));
  }

  /** Writes profile state (source items, run records) durably, grouped with whatever else is queued. */
  writeRecords(ops: readonly RecordOp[]): Promise<undefined> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'records', ops, resolve, reject }));
  }

  /** Removes a message's listing from a folder; false when it was not listed there. */
  unlist(unlisting: Unlisting): Promise<boolean> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'unlist', unlisting, resolve, reject }));
  }

  /**
   * The UIDs under which a message is already listed in each folder, or null when any folder
   * lacks it (or does not exist yet). A read-only shortcut for re-imports; commit() stays the
   * authority, so a race with a concurrent commit only costs the shortcut, never a duplicate.
   */
  async listedIn(sha: Buffer, targets: readonly { archive: string; folder: readonly string[] }[]): Promise<PlacementResult[] | null> {
    const results: PlacementResult[] = [];
    for (const target of targets) {
      let archive = this.archives.get(target.archive);
      if (!archive) {
        const stored = await this.spaces.archive.get(Buffer.from(target.archive, 'utf8'));
        if (!stored) return null;
        archive = decodeRecord<ArchiveRecord>(stored);
        // Committed archive records never change: safe to keep.
        this.archives.set(target.archive, archive);
      }
      const cached = this.folders.get(`${archive.id}${PATH_SEPARATOR}${target.folder.join(PATH_SEPARATOR)}`);
      const folderId = cached?.id ?? (await this.spaces.folderPath.get(keys.folderPath(archive.id, target.folder)))?.readUInt32BE(0);
      // A folder that was empty when this writer first saw it holds only what this writer listed:
      // commit() dedupes those itself, so a lookup here would only cost time (most imports).
      if (folderId === undefined || this.freshFolders.has(folderId)) return null;
      const uid = await this.spaces.entrySha.get(keys.entrySha(folderId, sha));
      if (!uid) return null;
      results.push({ archive: target.archive, folder: target.folder, folderId, uid: uid.readUInt32BE(0), added: false });
    }
    return results;
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async currentCounters(): Promise<Counters> {
    return { ...(await this.loadCounters()) };
  }

  /** Resolves once everything queued so far is on disk. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    if (!this.running) this.running = this.run();
  }

  private async run(): Promise<void> {
    // Let callers queue up what they have ready in this tick before the first group is cut.
    await new Promise((resolve) => setImmediate(resolve));
    for (;;) {
      const group = this.queue.splice(0, MAX_GROUP);
      if (group.length === 0) {
        // Cleared in the same synchronous step that saw the queue empty, so a job queued at any
        // later moment starts a new run instead of waiting for one that has ended.
        this.running = undefined;
        return;
      }
      try {
        if (this.mustReopen) await this.reopen();
        await this.writeGroup(group);
      } catch (err) {
        // The batch was not written: forget cached state that may include its uncommitted changes.
        this.counters = undefined;
        this.archives.clear();
        this.folders.clear();
        this.freshFolders.clear();
        // A failed write (a full disk, an I/O error) can leave a torn record at the end of
        // LevelDB's log. Records appended after it could be dropped when the log is replayed
        // (LevelDB skips the rest of a damaged block), losing messages already acknowledged. So
        // nothing more is written to that log: the database is reopened first, which replays it
        // and starts a new one. Until a reopen succeeds, every commit fails (SMTP answers 451).
        this.mustReopen = true;
        for (const job of group) job.reject(err);
      }
    }
  }

  private async writeGroup(group: Job[]): Promise<void> {
    const counters = { ...(await this.loadCounters()) };
    const ops: BatchOp[] = [];
    const put = (sublevel: BatchOp['sublevel'], key: Buffer, value: Buffer): void => {
      ops.push({ type: 'put', sublevel, key, value });
    };
    const now = Date.now();
    const touchedArchives = new Map<string, ArchiveRecord>();
    const touchedFolders = new Map<string, FolderRecord>();

    const archiveFor = async (name: string): Promise<ArchiveRecord> => {
      let archive = touchedArchives.get(name) ?? this.archives.get(name);
      if (!archive) {
        const stored = await this.spaces.archive.get(Buffer.from(name, 'utf8'));
        archive = stored ? decodeRecord<ArchiveRecord>(stored) : undefined;
      }
      if (!archive) {
        archive = { id: counters.nextArchiveId++, name, createdAt: now };
        put(this.spaces.archive, Buffer.from(name, 'utf8'), encodeRecord(archive));
        touchedArchives.set(name, archive);
      }
      return archive;
    };
    const folderFor = async (archiveName: string, path: readonly string[]): Promise<FolderRecord> => {
      const archive = await archiveFor(archiveName);
      const cacheKey = `${archive.id}${PATH_SEPARATOR}${path.join(PATH_SEPARATOR)}`;
      let folder = touchedFolders.get(cacheKey);
      if (folder) return folder;
      const cached = this.folders.get(cacheKey);
      if (cached) {
        folder = { ...cached };
      } else {
        const id = await this.spaces.folderPath.get(keys.folderPath(archive.id, path));
        const stored = id && (await this.spaces.folder.get(id));
        if (stored) {
          folder = decodeRecord<FolderRecord>(stored);
          if (folder.messages === 0) this.freshFolders.add(folder.id);
        } else {
          // A folder's ancestors exist too, as in any IMAP hierarchy (Projects before Projects/2024).
          if (path.length > 1) await folderFor(archiveName, path.slice(0, -1));
          // UIDVALIDITY: seconds since epoch, strictly increasing per store, so a folder that is
          // ever recreated under the same path can never repeat an earlier value.
          const uidValidity = Math.max(Math.floor(now / 1000), counters.lastUidValidity + 1);
          counters.lastUidValidity = uidValidity;
          folder = { id: counters.nextFolderId++, archiveId: archive.id, path: [...path], uidValidity, uidNext: 1, messages: 0, bytes: 0, createdAt: now };
          this.freshFolders.add(folder.id);
          put(this.spaces.folderPath, keys.folderPath(archive.id, path), keys.folder(folder.id));
        }
      }
      touchedFolders.set(cacheKey, folder);
      return folder;
    };

    /** An existing folder, as this group has it so far; undefined when there is none. */
    const existingFolder = async (archiveName: string, path: readonly string[]): Promise<FolderRecord | undefined> => {
      const archive = touchedArchives.get(archiveName) ?? this.archives.get(archiveName);
      const archiveId = archive?.id ?? (await this.spaces.archive.get(Buffer.from(archiveName, 'utf8')).then((stored) => stored && decodeRecord<ArchiveRecord>(stored).id));
      if (archiveId === undefined) return undefined;
      const cacheKey = `${archiveId}${PATH_SEPARATOR}${path.join(PATH_SEPARATOR)}`;
      if (!touchedFolders.has(cacheKey) && !this.folders.has(cacheKey) && !(await this.spaces.folderPath.get(keys.folderPath(archiveId, path)))) return undefined;
      return folderFor(archiveName, path);
    };

    // Look up, for the whole group at once, which contents are stored, and then where those are
    // listed already: new content is listed nowhere yet, so most imports need only the first read.
    const messages = group.flatMap((job) => (job.kind === 'message' ? [job.message] : []));
    const storedShas = await this.storedBlobIds(messages.map((m) => m.sha));
    const pairKeys: Buffer[] = [];
    for (const message of messages) {
      if (!storedShas.has(message.sha.toString('hex'))) continue;
      for (const placement of message.placements) pairKeys.push(keys.entrySha((await folderFor(placement.archive, placement.folder)).id, message.sha));
    }
    const storedPairs = new Map<string, number>();
    const pairValues = pairKeys.length ? await this.spaces.entrySha.getMany(pairKeys) : [];
    pairValues.forEach((value, i) => {
      if (value) storedPairs.set(pairKeys[i]!.toString('hex'), value.readUInt32BE(0));
    });

    const results: (CommitResult | FolderRecord | boolean | undefined)[] = [];
    const listings: CommittedListing[] = [];
    const contents: CommittedGroup['contents'] = [];
    const newShas = new Map<string, number>();
    const unlistings: CommittedUnlisting[] = [];
    /** Listings this group removed, by entrySha key: a later job must not find them. */
    const removedPairs = new Set<string>();
    const unlist = async ({ archive, folder: path, sha }: Unlisting): Promise<boolean> => {
      const folder = await existingFolder(archive, path);
      if (!folder) return false;
      const pairKey = keys.entrySha(folder.id, sha);
      const pairHex = pairKey.toString('hex');
      if (removedPairs.has(pairHex)) return false;
      const uid = storedPairs.get(pairHex) ?? (await this.spaces.entrySha.get(pairKey))?.readUInt32BE(0);
      if (uid === undefined) return false;
      const size = messages.find((m) => m.sha.equals(sha))?.size ?? (await this.storedSize(sha));
      storedPairs.delete(pairHex);
      removedPairs.add(pairHex);
      ops.push({ type: 'del', sublevel: this.spaces.entry, key: keys.entry(folder.id, uid) });
      ops.push({ type: 'del', sublevel: this.spaces.entrySha, key: pairKey });
      ops.push({ type: 'del', sublevel: this.spaces.ref, key: keys.ref(sha, folder.id, uid) });
      const mark = folder.uidNext++;
      put(this.spaces.unlisted, keys.unlisted(folder.id, mark), keys.folder(uid));
      folder.messages -= 1;
      folder.bytes -= size;
      const seq = counters.nextChange++;
      put(this.spaces.change, keys.change(seq), encodeChange(folder.id, uid, sha, true));
      unlistings.push({ seq, folderId: folder.id, uid, mark });
      return true;
    };
    for (const job of group) {
      if (job.kind === 'folder') {
        results.push(await folderFor(job.archive, job.folder));
        continue;
      }
      if (job.kind === 'unlist') {
        results.push(await unlist(job.unlisting));
        continue;
      }
      if (job.kind === 'records') {
        for (const op of job.ops) ops.push(op.type === 'put' ? { type: 'put', sublevel: this.spaces[op.space], key: op.key, value: op.value } : { type: 'del', sublevel: this.spaces[op.space], key: op.key });
        results.push(undefined);
        continue;
      }
      const { message } = job;
      const shaHex = message.sha.toString('hex');
      const newContent = !storedShas.has(shaHex) && !newShas.has(shaHex);
      if (newContent) {
        const blobId = counters.nextBlobId++;
        newShas.set(shaHex, blobId);
        contents.push({ docId: blobId, message });
        put(this.spaces.blob, keys.blob(blobId), message.sealedBlob);
        put(this.spaces.message, message.sha, encodeMessageValue(blobId, message.sealedMeta));
        counters.messages += 1;
        counters.rawBytes += message.size;
        counters.storedBytes += message.sealedBlob.length + message.sealedMeta.length + BLOB_ID_BYTES;
      }
      const docId = storedShas.get(shaHex) ?? newShas.get(shaHex)!;
      const placements: PlacementResult[] = [];
      for (const placement of message.placements) {
        const folder = await folderFor(placement.archive, placement.folder);
        const pairKey = keys.entrySha(folder.id, message.sha).toString('hex');
        const existingUid = storedPairs.get(pairKey);
        removedPairs.delete(pairKey);
        if (existingUid !== undefined) {
          placements.push({ archive: placement.archive, folder: folder.path, folderId: folder.id, uid: existingUid, added: false });
          continue;
        }
        const uid = folder.uidNext++;
        folder.messages += 1;
        folder.bytes += message.size;
        storedPairs.set(pairKey, uid);
        const entry: EntryRecord = {
          sha: message.sha,
          archivedAt: now,
          internalDate: placement.internalDate,
          direction: placement.direction,
          origin: placement.origin,
        };
        if (placement.envelopeRecipients) entry.envelopeRecipients = [...placement.envelopeRecipients];
        put(this.spaces.entry, keys.entry(folder.id, uid), encodeEntry(entry));
        put(this.spaces.entrySha, keys.entrySha(folder.id, message.sha), keys.folder(uid));
        put(this.spaces.ref, keys.ref(message.sha, folder.id, uid), Buffer.alloc(0));
        const seq = counters.nextChange++;
        put(this.spaces.change, keys.change(seq), encodeChange(folder.id, uid, message.sha));
        listings.push({ seq, folderId: folder.id, uid, sha: message.sha, archive: placement.archive, docId, archivedAt: now, internalDate: placement.internalDate });
        placements.push({ archive: placement.archive, folder: folder.path, folderId: folder.id, uid, added: true });
      }
      results.push({ sha: message.sha, newContent, placements });
    }

    for (const folder of touchedFolders.values()) put(this.spaces.folder, keys.folder(folder.id), encodeRecord(folder));
    put(this.spaces.info, InfoKeys.counters, encodeRecord(counters));
    await this.db.batch(ops, { sync: true });

    this.counters = counters;
    for (const [name, archive] of touchedArchives) this.archives.set(name, archive);
    for (const [key, folder] of touchedFolders) this.folders.set(key, folder);
    group.forEach((job, i) => {
      const result = results[i];
      if (job.kind === 'message') job.resolve(result as CommitResult);
      else if (job.kind === 'folder') job.resolve(result as FolderRecord);
      else if (job.kind === 'unlist') job.resolve(result as boolean);
      else job.resolve(undefined);
    });
    // The batch is durable and its callers answered: a failing listener must not look like a
    // failed write, so listeners run on their own tick where their errors surface on their own.
    if (listings.length || unlistings.length) for (const listener of this.listeners) queueMicrotask(() => listener({ contents, listings, unlistings }));
  }

  private async reopen(): Promise<void> {
    await this.db.close();
    await this.db.open();
    // Sublevels that failed to open with the database (a disk still full) stay closed until
    // opened themselves; reopening the root alone would leave them failing every read.
    await Promise.all(Object.values(this.spaces).map((space) => space.open()));
    this.mustReopen = false;
  }

  /** The blob ids of the messages already stored, by SHA-256 hex. */
  private async storedBlobIds(shas: Buffer[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    if (!shas.length) return found;
    const values = await this.spaces.message.getMany(shas);
    values.forEach((value, i) => {
      if (value) found.set(shas[i]!.toString('hex'), decodeMessageValue(value).blobId);
    });
    return found;
  }

  /** The raw size of a stored message, from its metadata. */
  private async storedSize(sha: Buffer): Promise<number> {
    const value = await this.spaces.message.get(sha);
    if (!value) throw new Error(`message ${sha.toString('hex')} is listed but not stored`);
    return decodeMessageMeta(this.sealer.open(decodeMessageValue(value).sealedMeta, sha)).size;
  }

  private async loadCounters(): Promise<Counters> {
    if (!this.counters) {
      const stored = await this.spaces.info.get(InfoKeys.counters);
      this.counters = stored ? decodeRecord<Counters>(stored) : { ...INITIAL_COUNTERS };
    }
    return this.counters;
  }
}
