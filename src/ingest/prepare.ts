// The CPU-heavy half of ingest, run on worker threads: hash, parse, seal, and extract the terms
// the search index needs. Its output is all the single writer and the indexer need, so the main
// thread only routes and commits.
import { analyzeMessage, type MessageAddresses, type MessageAnalysis } from '../mime/analyze.js';
import { encodeMessageMeta } from '../store/codec.js';
import type { Sealer } from '../store/sealing.js';
import type { IndexPayload } from '../store/writer.js';
import { encodeDocTerms } from '../search/doc-terms.js';
import { extractSearchText } from '../search/extract.js';

export interface PreparedContent {
  sha: Buffer;
  size: number;
  sealedBlob: Buffer;
  sealedMeta: Buffer;
  problems: string[];
  addresses: MessageAddresses;
  date?: number;
  receivedAt?: number;
  index: IndexPayload;
}

/**
 * `envelopeRecipients`: the SMTP RCPT TO or journal report recipients; those not in To or Cc were
 * Bcc recipients, and the index records them as such (`bcc:` finds them).
 */
export function prepareContent(raw: Buffer, sealer: Sealer, envelopeRecipients: readonly string[] = []): PreparedContent {
  const analysis = analyzeMessage(raw);
  const { sha, meta, addresses } = analysis;
  const prepared: PreparedContent = {
    sha,
    size: raw.length,
    sealedBlob: sealer.seal(raw, sha),
    // Metadata (~440 bytes of msgpack) stays uncompressed: Brotli takes off only a fifth of it, at a
    // cost of ~1.5% of ingest CPU (bench/README.md, profiles section).
    sealedMeta: sealer.seal(encodeMessageMeta(meta), sha, { compress: false }),
    problems: meta.problems,
    addresses,
    index: indexPayload(analysis, raw, hiddenRecipients(addresses, envelopeRecipients)),
  };
  if (meta.date !== undefined) prepared.date = meta.date;
  if (meta.receivedAt !== undefined) prepared.receivedAt = meta.receivedAt;
  return prepared;
}

/** Only the search index's part, for messages already stored (index catch-up and rebuild). */
export function prepareIndexPayload(raw: Buffer, envelopeRecipients: readonly string[] = []): IndexPayload {
  const analysis = analyzeMessage(raw);
  return indexPayload(analysis, raw, hiddenRecipients(analysis.addresses, envelopeRecipients));
}

/** Envelope recipients not named in To or Cc: the Bcc recipients of journaled mail. */
function hiddenRecipients(addresses: MessageAddresses, envelopeRecipients: readonly string[]): string[] {
  const visible = new Set([...addresses.to, ...addresses.cc]);
  return envelopeRecipients.filter((address) => !visible.has(address.toLowerCase()));
}

function indexPayload({ tree, wholeTree, meta }: MessageAnalysis, raw: Buffer, hiddenRecipients: readonly string[] = []): IndexPayload {
  const text = extractSearchText(tree, raw, wholeTree);
  if (hiddenRecipients.length) text.bcc = [text.bcc, ...hiddenRecipients].filter(Boolean).join(', ');
  const payload: IndexPayload = {
    terms: encodeDocTerms(text),
    priority: meta.priority,
    attachments: meta.attachments.length > 0,
  };
  const date = meta.date ?? meta.receivedAt;
  if (date !== undefined) payload.date = date;
  return payload;
}
