// Integrity check of the whole store: every stored message re-hashed from its sealed bytes,
// every metadata record decoded, every listing, ref and change record checked in both directions
// (a removed listing by its removal record),
// folder counts and store counters recounted. Streams over the keyspaces; memory stays bounded
// by the number of folders, not the number of messages.
import { createHash } from 'node:crypto';
import { describeError } from '../errors.js';
import { decodeEntry, decodeMessageMeta, decodeRecord } from './codec.js';
import { decodeChange, decodeEntryKey, decodeMessageValue, decodeRefKey, keys } from './layout.js';
import type { ArchiveRecord, Counters, EntryRecord, FolderRecord } from './records.js';
import type { ArchiveStore } from './store.js';

export interface VerifyProblem {
  /** The damaged message (hex SHA-256) when the problem concerns one. */
  sha?: string;
  archive?: string;
  folder?: string;
  uid?: number;
  detail: string;
}

export interface VerifyReport {
  messages: number;
  listings: number;
  folders: number;
  archives: number;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  onProgress?: (checkedMessages: number, totalMessages: number) => void;
  /** Stop collecting after this many problems (the count keeps going). */
  maxProblems?: number;
}

export async function verifyStore(store: ArchiveStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  const spaces = store.keyspacesForVerification();
  const counters = await store.counters();
  const maxProblems = options.maxProblems ?? 1000;
  const report: VerifyReport = { messages: 0, listings: 0, folders: 0, archives: 0, problems: [] };
  const problem = (p: VerifyProblem): void => {
    if (report.problems.length < maxProblems) report.problems.push(p);
  };

  const archives = new Map<number, ArchiveRecord>();
  for await (const value of spaces.archive.values()) {
    const archive = decodeRecord<ArchiveRecord>(value);
    archives.set(archive.id, archive);
  }
  report.archives = archives.size;
  const folders = new Map<number, FolderRecord & { counted: number; countedBytes: number }>();
  for await (const value of spaces.folder.values()) {
    const folder = decodeRecord<FolderRecord>(value);
    folders.set(folder.id, { ...folder, counted: 0, countedBytes: 0 });
    if (!archives.has(folder.archiveId)) problem({ folder: folder.path.join('/'), detail: `folder belongs to unknown archive id ${folder.archiveId}` });
    const indexed = await spaces.folderPath.get(keys.folderPath(folder.archiveId, folder.path));
    if (!indexed || indexed.readUInt32BE(0) !== folder.id) problem({ folder: folder.path.join('/'), detail: 'folder path index does not point at this folder' });
  }
  report.folders = folders.size;
  const where = (folderId: number): Pick<VerifyProblem, 'archive' | 'folder'> => {
    const folder = folders.get(folderId);
    return { archive: folder ? (archives.get(folder.archiveId)?.name ?? `#${folder.archiveId}`) : undefined, folder: folder ? folder.path.join('/') : `#${folderId}` };
  };

  // 1. Content: every message's metadata decodes, and its blob opens and hashes to the message's
  //    SHA-256. Every blob thus belongs to exactly one message, so equal counts mean no orphans.
  let rawBytes = 0;
  let storedBytes = 0;
  let contentDamaged = false;
  for await (const [sha, value] of spaces.message.iterator()) {
    const problemsBefore = report.problems.length;
    report.messages += 1;
    const hex = sha.toString('hex');
    storedBytes += value.length;
    const { blobId, sealedMeta } = decodeMessageValue(value);
    let size: number | undefined;
    try {
      size = decodeMessageMeta(store.sealer.open(sealedMeta, sha)).size;
      rawBytes += size;
    } catch (err) {
      problem({ sha: hex, detail: `metadata cannot be read: ${describeError(err)}` });
    }
    const sealed = await spaces.blob.get(keys.blob(blobId));
    if (!sealed) {
      problem({ sha: hex, detail: `content (blob ${blobId}) is missing` });
    } else {
      storedBytes += sealed.length;
      try {
        const raw = store.sealer.open(sealed, sha);
        if (!createHash('sha256').update(raw).digest().equals(sha)) problem({ sha: hex, detail: 'content does not match its SHA-256' });
        else if (size !== undefined && raw.length !== size) problem({ sha: hex, detail: `content is ${raw.length} bytes, metadata says ${size}` });
      } catch (err) {
        problem({ sha: hex, detail: `content cannot be read: ${describeError(err)}` });
      }
    }
    if (report.problems.length > problemsBefore) contentDamaged = true;
    options.onProgress?.(report.messages, counters.messages);
  }
  let blobs = 0;
  for await (const key of spaces.blob.keys()) {
    blobs += 1;
    if (Number(key.readBigUInt64BE(0)) >= counters.nextBlobId) problem({ detail: `blob ${key.readBigUInt64BE(0)} has an id never assigned` });
  }
  if (blobs !== report.messages) problem({ detail: `${blobs} content blobs for ${report.messages} messages: ${blobs - report.messages} belong to no message` });

  // 2. Listings: each points at stored content, is indexed by sha and has its ref.
  for await (const [key, value] of spaces.entry.iterator()) {
    report.listings += 1;
    const { folderId, uid } = decodeEntryKey(key);
    const folder = folders.get(folderId);
    let entry: EntryRecord;
    try {
      entry = decodeEntry(value);
    } catch (err) {
      problem({ ...where(folderId), uid, detail: `listing cannot be decoded: ${describeError(err)}` });
      continue;
    }
    const hex = entry.sha.toString('hex');
    if (!folder) problem({ sha: hex, folder: `#${folderId}`, uid, detail: 'listing in an unknown folder' });
    else {
      folder.counted += 1;
      if (uid >= folder.uidNext) problem({ sha: hex, ...where(folderId), uid, detail: `UID not below the folder's UIDNEXT ${folder.uidNext}` });
    }
    const size = await contentSize(store, entry.sha);
    if (size === undefined) problem({ sha: hex, ...where(folderId), uid, detail: 'listed message is not stored' });
    else if (folder) folder.countedBytes += size;
    const bySha = await spaces.entrySha.get(keys.entrySha(folderId, entry.sha));
    if (!bySha || bySha.readUInt32BE(0) !== uid) problem({ sha: hex, ...where(folderId), uid, detail: 'folder dedupe index does not point at this listing' });
    if ((await spaces.ref.get(keys.ref(entry.sha, folderId, uid))) === undefined) problem({ sha: hex, ...where(folderId), uid, detail: 'listing has no ref record' });
  }
  for await (const key of spaces.ref.keys()) {
    const { sha, folderId, uid } = decodeRefKey(key);
    const value = await spaces.entry.get(keys.entry(folderId, uid));
    if (!value || !decodeEntry(value).sha.equals(sha)) problem({ sha: sha.toString('hex'), ...where(folderId), uid, detail: 'ref without a matching listing' });
  }
  for await (const [key, value] of spaces.entrySha.iterator()) {
    const folderId = key.readUInt32BE(0);
    const sha = key.subarray(4);
    const uid = value.readUInt32BE(0);
    const entry = await spaces.entry.get(keys.entry(folderId, uid));
    if (!entry || !decodeEntry(entry).sha.equals(sha)) problem({ sha: sha.toString('hex'), ...where(folderId), uid, detail: 'dedupe index entry without a matching listing' });
  }
  // The change feed: every listing added once, and every listing gone was removed by a later record.
  let changes = 0;
  let removals = 0;
  const addedThenGone = new Set<string>();
  for await (const [, value] of spaces.change.iterator()) {
    changes += 1;
    const { folderId, uid, removed } = decodeChange(value);
    const listed = (await spaces.entry.get(keys.entry(folderId, uid))) !== undefined;
    const pair = `${folderId}:${uid}`;
    if (removed) {
      removals += 1;
      if (listed) problem({ ...where(folderId), uid, detail: 'listing still present after its removal record' });
      else if (!addedThenGone.delete(pair)) problem({ ...where(folderId), uid, detail: 'removal record for a listing never added' });
    } else if (!listed) addedThenGone.add(pair);
  }
  for (const pair of addedThenGone) {
    const [folderId, uid] = pair.split(':').map(Number) as [number, number];
    problem({ ...where(folderId), uid, detail: 'change record without a matching listing' });
  }
  let unlisted = 0;
  for await (const [key, value] of spaces.unlisted.iterator()) {
    unlisted += 1;
    const folderId = key.readUInt32BE(0);
    const mark = key.readUInt32BE(4);
    const folder = folders.get(folderId);
    if (!folder || mark >= folder.uidNext) problem({ ...where(folderId), uid: value.readUInt32BE(0), detail: `removal mark ${mark} not below the folder's UIDNEXT` });
  }
  if (unlisted !== removals) problem({ detail: `${removals} removal change records but ${unlisted} removal marks` });

  // 3. Counts kept in folder records and counters match what is there.
  for (const folder of folders.values()) {
    if (folder.counted !== folder.messages || folder.countedBytes !== folder.bytes) {
      problem({ ...where(folder.id), detail: `folder counts ${folder.messages} messages / ${folder.bytes} bytes, found ${folder.counted} / ${folder.countedBytes}` });
    }
  }
  checkCounter(counters, 'messages', report.messages, problem);
  // Byte totals can only add up when every message could be read; a damaged one is reported above.
  if (!contentDamaged) {
    checkCounter(counters, 'rawBytes', rawBytes, problem);
    checkCounter(counters, 'storedBytes', storedBytes, problem);
  }
  if (changes !== counters.nextChange - 1) problem({ detail: `store counts ${counters.nextChange - 1} change records, found ${changes}` });
  if (changes - 2 * removals !== report.listings) problem({ detail: `${report.listings} listings but ${changes - removals} additions and ${removals} removals in the change feed` });
  return report;
}

async function contentSize(store: ArchiveStore, sha: Buffer): Promise<number | undefined> {
  try {
    return (await store.getMessage(sha))?.size;
  } catch {
    return undefined;
  }
}

function checkCounter(counters: Counters, name: 'messages' | 'rawBytes' | 'storedBytes', found: number, problem: (p: VerifyProblem) => void): void {
  if (counters[name] !== found) problem({ detail: `store counter ${name} is ${counters[name]}, found ${found}` });
}
