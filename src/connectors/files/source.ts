// Shared types and small helpers for the file-import readers (eml, mbox, maildir). A reader only
// reads: it turns files on disk into raw messages plus provenance, one at a time, and reports every
// file it could not read as a failure item instead of throwing, so that one bad file never stops an
// import. The ingest pipeline stores what the readers yield.

import { CofferError, ErrorCodes, describeError } from '../../errors.js';

export interface SourceMessage {
  kind: 'message';
  /** The message bytes exactly as they will be archived (postmark line and mbox quoting removed). */
  raw: Buffer;
  /** Archive folder path relative to the import target; `[]` is the target folder itself. */
  folder: readonly string[];
  /** Names the file; for mbox `path#<n> (line L)` with the 1-based ordinal and the postmark's line. */
  origin: string;
  /** Bytes of input consumed by this item, for progress; the items of a source sum to totalBytes(). */
  bytes: number;
  receivedAt?: Date;
}

export interface SourceFailure {
  kind: 'failure';
  origin: string;
  error: Error;
  bytes: number;
}

export type SourceItem = SourceMessage | SourceFailure;

export interface FileSource {
  /** total bytes to read, for a progress bar */
  totalBytes(): Promise<number>;
  items(): AsyncIterable<SourceItem>;
}

/**
 * Code-unit order, not localeCompare: the import order must not depend on the machine's locale,
 * so that two runs over the same tree visit files in the same order.
 */
export function compareNames(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/** A failure item; the OS error (ENOENT, EACCES, EISDIR, ...) stays reachable as `error.cause`. */
export function sourceFailure(origin: string, cause: unknown, bytes = 0): SourceFailure {
  const error =
    cause instanceof CofferError
      ? cause
      : new CofferError(ErrorCodes.SourceUnreadable, `cannot read ${origin}: ${describeError(cause)}`, { cause });
  return { kind: 'failure', origin, error, bytes };
}

export function notRegularFile(path: string): CofferError {
  return new CofferError(ErrorCodes.SourceUnreadable, `cannot read ${path}: not a regular file`);
}
