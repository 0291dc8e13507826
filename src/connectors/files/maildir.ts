// Reader for `coffer import maildir`: the messages in cur/ and new/ of a Maildir and of its
// subfolders, in both Maildir++ layout (`.Work.Projects` at the root) and filesystem layout
// (`Work/Projects/cur`), with folder names decoded from IMAP modified UTF-7. Only files inside
// cur/ and new/ are messages; tmp/ (deliveries in progress) and index files are never read.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CofferError, ErrorCodes } from '../../errors.js';
import { compareNames, notRegularFile, sourceFailure, type FileSource, type SourceItem, type SourceMessage } from './source.js';
import { decodeImapUtf7 } from './utf7.js';

type MaildirEntry =
  | { kind: 'file'; path: string; folder: readonly string[]; size: number; mtime: Date }
  | { kind: 'failure'; path: string; error: unknown };

/** Directory names inside a folder that belong to the folder itself, not to a subfolder. */
const FOLDER_PARTS = new Set(['cur', 'new', 'tmp']);

export function createMaildirSource(dir: string): FileSource {
  return {
    async totalBytes() {
      let total = 0;
      for await (const entry of walkMaildir(dir)) if (entry.kind === 'file') total += entry.size;
      return total;
    },
    items: () => readMaildir(dir),
  };
}

async function* readMaildir(root: string): AsyncGenerator<SourceItem> {
  for await (const entry of walkMaildir(root)) {
    if (entry.kind === 'failure') {
      yield sourceFailure(entry.path, entry.error);
      continue;
    }
    let raw: Buffer;
    try {
      raw = await readFile(entry.path);
    } catch (error) {
      yield sourceFailure(entry.path, error, entry.size);
      continue;
    }
    // A Maildir message file is written once at delivery (later flag changes rename it, which
    // keeps the mtime), so its mtime is the delivery time; Dovecot uses it the same way.
    const message: SourceMessage = { kind: 'message', raw, folder: entry.folder, origin: entry.path, bytes: raw.length, receivedAt: entry.mtime };
    yield message;
  }
}

/** Root folder first, then subfolders in name order; each folder's cur/ and new/ merged by name. */
async function* walkMaildir(root: string): AsyncGenerator<MaildirEntry> {
  try {
    const info = await stat(root);
    if (!info.isDirectory()) throw new CofferError(ErrorCodes.SourceUnreadable, `not a Maildir: ${root} is not a directory`);
  } catch (error) {
    yield { kind: 'failure', path: root, error };
    return;
  }
  const found = { folders: 0 };
  yield* walkFolder(root, [], found);
  if (found.folders === 0) {
    yield { kind: 'failure', path: root, error: new CofferError(ErrorCodes.SourceUnreadable, `not a Maildir: no cur/ or new/ in ${root} or below`) };
  }
}

/**
 * One directory of the tree: its own messages if it has cur/ or new/, then its children.
 * A `.a.b` child is a Maildir++ folder (flat: the dots are the hierarchy, it is not descended);
 * any other child directory is a filesystem-layout folder, descended recursively because a parent
 * without cur/ or new/ (a \Noselect folder) can still hold folders that have them.
 */
async function* walkFolder(dir: string, folder: readonly string[], found: { folders: number }): AsyncGenerator<MaildirEntry> {
  let children: string[];
  try {
    const dirents = await readdir(dir, { withFileTypes: true });
    // Only real directories: files here (dovecot-uidlist, dovecot.index*, subscriptions,
    // maildirfolder, courier keyword files) are metadata, and following symlinked directories
    // could loop.
    children = dirents.filter((d) => d.isDirectory()).map((d) => d.name).sort(compareNames);
  } catch (error) {
    yield { kind: 'failure', path: dir, error };
    return;
  }
  if (children.includes('cur') || children.includes('new')) {
    found.folders++;
    yield* folderMessages(dir, folder);
  }
  for (const name of children) {
    if (FOLDER_PARTS.has(name)) continue;
    const path = join(dir, name);
    if (name.startsWith('.')) {
      const parts = name.slice(1).split('.');
      // `..x`, `.x.` and the like are not Maildir++ names; neither are hidden dirs without cur/new.
      if (parts.some((part) => part === '') || !(await isMaildirFolder(path))) continue;
      found.folders++;
      yield* folderMessages(path, [...folder, ...parts.map(decodeImapUtf7)]);
    } else {
      yield* walkFolder(path, [...folder, decodeImapUtf7(name)], found);
    }
  }
}

async function isMaildirFolder(dir: string): Promise<boolean> {
  for (const part of ['cur', 'new']) {
    try {
      if ((await stat(join(dir, part))).isDirectory()) return true;
    } catch {
      // absent: try the other one
    }
  }
  return false;
}

/**
 * cur/ and new/ merged and sorted by file name: Maildir names begin with the delivery time, so
 * this is roughly arrival order whichever of the two a message sits in.
 */
async function* folderMessages(dir: string, folder: readonly string[]): AsyncGenerator<MaildirEntry> {
  const files: { name: string; path: string }[] = [];
  for (const part of ['cur', 'new']) {
    const partDir = join(dir, part);
    let names: string[];
    try {
      names = await readdir(partDir);
    } catch (error) {
      // A folder may have only one of the two; any other error is worth reporting.
      if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) yield { kind: 'failure', path: partDir, error };
      continue;
    }
    for (const name of names) if (!name.startsWith('.')) files.push({ name, path: join(partDir, name) });
  }
  files.sort((a, b) => compareNames(a.name, b.name) || compareNames(a.path, b.path));
  for (const { path } of files) {
    try {
      const info = await stat(path); // follows symlinks: a dangling one fails here
      if (!info.isFile()) throw notRegularFile(path);
      yield { kind: 'file', path, folder, size: info.size, mtime: info.mtime };
    } catch (error) {
      yield { kind: 'failure', path, error };
    }
  }
}
