// The CPU-heavy half of ingest, run on worker threads: hash, parse, seal. Its output is all the
// single writer needs, so the main thread only routes and commits.
import { analyzeMessage, type MessageAddresses } from '../mime/analyze.js';
import { encodeMessageMeta } from '../store/codec.js';
import type { Sealer } from '../store/sealing.js';

export interface PreparedContent {
  sha: Buffer;
  size: number;
  sealedBlob: Buffer;
  sealedMeta: Buffer;
  problems: string[];
  addresses: MessageAddresses;
  date?: number;
  receivedAt?: number;
}

export function prepareContent(raw: Buffer, sealer: Sealer): PreparedContent {
  const { sha, meta, addresses } = analyzeMessage(raw);
  const prepared: PreparedContent = {
    sha,
    size: raw.length,
    sealedBlob: sealer.seal(raw, sha),
    sealedMeta: sealer.seal(encodeMessageMeta(meta), sha),
    problems: meta.problems,
    addresses,
  };
  if (meta.date !== undefined) prepared.date = meta.date;
  if (meta.receivedAt !== undefined) prepared.receivedAt = meta.receivedAt;
  return prepared;
}
