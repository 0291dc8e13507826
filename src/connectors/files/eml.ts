// Reader for `coffer import eml`: one message per file, from a directory (optionally recursive,
// subdirectories becoming archive folders) or a single file. Files are visited in name order, one
// at a time; a file that cannot be read becomes a failure item and the walk goes on.

import { readdir, realpath, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePostmarkDate } from './mbox.js';
import { compareNames, notRegularFile, sourceFailure, type FileSource, type SourceItem, type SourceMessage } from './source.js';

export interface EmlSourceOptions {
  /** Descend into subdirectories; a file in `a/b` is filed in folder ['a', 'b']. */
  recursive: boolean;
}

type EmlEntry =
  | { kind: 'file'; path: string; folder: readonly string[]; size: number }
  | { kind: 'failure'; path: string; error: unknown };

export function createEmlSource(dir: string, options: EmlSourceOptions): FileSource {
  return {
    async totalBytes() {
      let total = 0;
      for await (const entry of walkEml(dir, options.recursive)) if (entry.kind === 'file') total += entry.size;
      return total;
    },
    items: () => readEml(dir, options.recursive),
  };
}

async function* readEml(root: string, recursive: boolean): AsyncGenerator<SourceItem> {
  for await (const entry of walkEml(root, recursive)) {
    if (entry.kind === 'failure') {
      yield sourceFailure(entry.path, entry.error);
      continue;
    }
    let raw: Buffer;
    try {
      raw = await readFile(entry.path);
    } catch (error) {
      // Vanished or replaced since it was listed: report it with the size we counted for it.
      yield sourceFailure(entry.path, error, entry.size);
      continue;
    }
    yield emlMessage(raw, entry.folder, entry.path);
  }
}

/**
 * A file is one message, kept byte for byte, with one exception: a first line starting with
 * `From ` (space, no colon) is an mbox postmark (`From sender date`), as in the SpamAssassin corpus
 * and in files saved from mbox-based clients. It is not part of the message: RFC 5322 header
 * names cannot contain a space, so the line can never be a header, and archiving it would break
 * deduplication against the same message arriving by SMTP or IMAP. Exactly that line (with its LF
 * or CRLF) is removed and its date becomes receivedAt; a file that is nothing but such a line,
 * with no line break, is kept as it is. Empty or binary files pass through untouched: the pipeline
 * archives and flags them, nothing is dropped here.
 */
export function emlMessage(raw: Buffer, folder: readonly string[], origin: string): SourceMessage {
  const message: SourceMessage = { kind: 'message', raw, folder, origin, bytes: raw.length };
  if (raw.length >= 5 && raw.toString('latin1', 0, 5) === 'From ') {
    const nl = raw.indexOf(0x0a);
    if (nl !== -1) {
      message.raw = raw.subarray(nl + 1);
      const receivedAt = parsePostmarkDate(raw.toString('latin1', 0, nl));
      if (receivedAt !== undefined) message.receivedAt = receivedAt;
    }
  }
  return message;
}

/** Lists the files to import lazily, directory by directory, so a huge tree is never held whole. */
async function* walkEml(root: string, recursive: boolean): AsyncGenerator<EmlEntry> {
  let info;
  try {
    info = await stat(root);
  } catch (error) {
    yield { kind: 'failure', path: root, error };
    return;
  }
  if (info.isFile()) {
    yield { kind: 'file', path: root, folder: [], size: info.size };
    return;
  }
  if (!info.isDirectory()) {
    yield { kind: 'failure', path: root, error: notRegularFile(root) };
    return;
  }
  // Symlinked directories are followed, each real directory once, so a link loop cannot recurse forever.
  const visited = new Set<string>();
  yield* walkDir(root, [], recursive, visited);
}

async function* walkDir(dir: string, folder: readonly string[], recursive: boolean, visited: Set<string>): AsyncGenerator<EmlEntry> {
  let names: string[];
  try {
    const real = await realpath(dir);
    if (visited.has(real)) return;
    visited.add(real);
    names = (await readdir(dir)).sort(compareNames);
  } catch (error) {
    yield { kind: 'failure', path: dir, error };
    return;
  }
  for (const name of names) {
    // Hidden entries (.DS_Store, .git, editor swap files) are never mail.
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let info;
    try {
      info = await stat(path); // follows symlinks: a dangling one fails here and is reported
    } catch (error) {
      yield { kind: 'failure', path, error };
      continue;
    }
    if (info.isDirectory()) {
      if (recursive) yield* walkDir(path, [...folder, name], recursive, visited);
    } else if (info.isFile()) {
      yield { kind: 'file', path, folder, size: info.size };
    } else {
      // FIFOs, sockets, devices: reading one could block or never end.
      yield { kind: 'failure', path, error: notRegularFile(path) };
    }
  }
}
