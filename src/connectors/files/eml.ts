// Reader for `coffer import eml`: one message per file, from a directory (optionally recursive,
// subdirectories becoming archive folders) or a single file. Files are yielded in name order, with
// a few reads running ahead; a file that cannot be read becomes a failure item and the walk goes on.

import { readFile as readFileCallback } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { parsePostmarkDate } from './mbox.js';
import { compareNames, notRegularFile, sourceFailure, type FileSource, type SourceItem, type SourceMessage } from './source.js';

export interface EmlSourceOptions {
  /** Descend into subdirectories; a file in `a/b` is filed in folder ['a', 'b']. */
  recursive: boolean;
}

type EmlEntry =
  | { kind: 'file'; path: string; folder: readonly string[]; size?: number }
  | { kind: 'failure'; path: string; error: unknown };

// The callback readFile does one fstat and one read; fs/promises' version reads in chunks with a
// round trip through the thread pool each, several times slower for small files.
const readFile = promisify(readFileCallback);
/**
 * Read-ahead hides per-file latency (open, read, close through the thread pool) without letting
 * memory grow: at most READS_IN_FLIGHT reads at once, and at most READ_AHEAD files or
 * READ_AHEAD_BYTES of read-but-not-yet-consumed messages, whatever the sizes of the files.
 */
const READS_IN_FLIGHT = 8;
const READ_AHEAD = 64;
const READ_AHEAD_BYTES = 32 * 1024 * 1024;

export function createEmlSource(dir: string, options: EmlSourceOptions): FileSource {
  return {
    async totalBytes() {
      let total = 0;
      for await (const entry of walkEml(dir, options.recursive, true)) if (entry.kind === 'file') total += entry.size ?? 0;
      return total;
    },
    items: () => readEml(dir, options.recursive),
  };
}

async function* readEml(root: string, recursive: boolean): AsyncGenerator<SourceItem> {
  const ahead: Promise<SourceItem>[] = [];
  const reads = createLimiter(READS_IN_FLIGHT);
  let buffered = 0;
  const next = async (): Promise<SourceItem> => {
    const item = await ahead.shift()!;
    buffered -= item.bytes;
    return item;
  };
  for await (const entry of walkEml(root, recursive, false)) {
    while (ahead.length >= READ_AHEAD || (ahead.length > 0 && buffered >= READ_AHEAD_BYTES)) yield await next();
    ahead.push(
      reads(() => load(entry)).then((item) => {
        buffered += item.bytes;
        return item;
      }),
    );
  }
  while (ahead.length) yield await next();
}

/** Runs at most `limit` of the given tasks at once, in the order they were handed in. */
function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so none can be taken between.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await task();
    } finally {
      const nextInLine = waiting.shift();
      if (nextInLine) nextInLine();
      else running -= 1;
    }
  };
}

/** Never rejects: a file that cannot be read is a failure item. */
async function load(entry: EmlEntry): Promise<SourceItem> {
  if (entry.kind === 'failure') return sourceFailure(entry.path, entry.error);
  try {
    return emlMessage(await readFile(entry.path), entry.folder, entry.path);
  } catch (error) {
    // Vanished, replaced or unreadable since it was listed (a dangling symlink, a directory).
    return sourceFailure(entry.path, error, entry.size ?? 0);
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

/**
 * Lists the files to import lazily, directory by directory, so a huge tree is never held whole.
 * Sizes are looked up only when asked for (the progress bar's total): reading needs none.
 */
async function* walkEml(root: string, recursive: boolean, withSizes: boolean): AsyncGenerator<EmlEntry> {
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
  yield* walkDir(root, [], { recursive, withSizes, visited });
}

interface WalkOptions {
  recursive: boolean;
  withSizes: boolean;
  visited: Set<string>;
}

async function* walkDir(dir: string, folder: readonly string[], options: WalkOptions): AsyncGenerator<EmlEntry> {
  let entries;
  try {
    const real = await realpath(dir);
    if (options.visited.has(real)) return;
    options.visited.add(real);
    entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => compareNames(a.name, b.name));
  } catch (error) {
    yield { kind: 'failure', path: dir, error };
    return;
  }
  for (const dirent of entries) {
    // Hidden entries (.DS_Store, .git, editor swap files) are never mail.
    if (dirent.name.startsWith('.')) continue;
    const path = join(dir, dirent.name);
    let info: { isDirectory(): boolean; isFile(): boolean; size?: number } = dirent;
    // Symlinks (and filesystems that report no type) need a stat; so does a size when asked for.
    if (dirent.isSymbolicLink() || !(dirent.isFile() || dirent.isDirectory()) || (options.withSizes && dirent.isFile())) {
      try {
        info = await stat(path); // follows symlinks: a dangling one fails here and is reported
      } catch (error) {
        yield { kind: 'failure', path, error };
        continue;
      }
    }
    if (info.isDirectory()) {
      if (options.recursive) yield* walkDir(path, [...folder, dirent.name], options);
    } else if (info.isFile()) {
      yield info.size === undefined ? { kind: 'file', path, folder } : { kind: 'file', path, folder, size: info.size };
    } else {
      // FIFOs, sockets, devices: reading one could block or never end.
      yield { kind: 'failure', path, error: notRegularFile(path) };
    }
  }
}
