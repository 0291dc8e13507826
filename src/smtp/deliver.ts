// Hands a received message to the ingest pipeline, once per endpoint the transaction named, and
// resolves only when every copy is committed (the pipeline resolves after its fsync'd batch).
// Journal reports are unwrapped first: the original is archived and routed by the report's own
// envelope; an NDR keeps only the mail it carries (seed 003). A store error rejects: the caller
// answers 451 and the sender retries; a retry is harmless because a folder lists a message once.
import type { IngestOutcome, IngestRequest } from '../ingest/pipeline.js';
import { unwrapJournalMessage } from '../ingest/journal-report.js';

/** The part of the ingest pipeline SMTP intake uses. */
export interface IngestPort {
  ingest(request: IngestRequest): Promise<IngestOutcome>;
}

export interface DeliveryRequest {
  raw: Buffer;
  /** MAIL FROM; null for the null sender (bounces). */
  mailFrom: string | null;
  /** Archives of the endpoints the RCPTs named, in RCPT order, without repeats. */
  endpointArchives: readonly string[];
  /** RCPT TO addresses that are not endpoint addresses. */
  otherRecipients: readonly string[];
  origin: string;
  receivedAt: Date;
}

export interface DeliveryResult {
  /** What was archived: the received bytes, a report's original or an NDR's attachment. */
  kind: 'plain' | 'journal-report' | 'ndr-attachment';
  sha: string;
  size: number;
  /** Archives that list the message now (endpoint archives and those matched by address). */
  archives: string[];
}

export async function deliver(ingest: IngestPort, request: DeliveryRequest): Promise<DeliveryResult> {
  const unwrapped = unwrapJournalMessage(request.raw);
  let raw = request.raw;
  let envelopeSender = request.mailFrom;
  let envelopeRecipients = request.otherRecipients;
  if (unwrapped.kind === 'journal-report') {
    // The SMTP envelope belongs to the journaling agent (MAIL FROM is Exchange's journal sender),
    // not to the original message; the report's Sender/Recipient lines are the real envelope.
    raw = unwrapped.original;
    envelopeSender = unwrapped.envelope.sender;
    envelopeRecipients = unwrapped.envelope.recipients;
  } else if (unwrapped.kind === 'ndr-attachment') {
    // Likewise the NDR's envelope says nothing about the returned mail: route it by its headers.
    raw = unwrapped.original;
    envelopeSender = null;
    envelopeRecipients = [];
  }

  // One ingest per endpoint archive: JournalRouting names one endpoint archive, and committing the
  // same bytes twice is idempotent (content is deduplicated by SHA-256, a folder lists a sha once),
  // so archives matched by address in both routings still get a single listing.
  const settled = await Promise.allSettled(
    request.endpointArchives.map((endpointArchive) =>
      ingest.ingest({
        raw,
        origin: request.origin,
        receivedAt: request.receivedAt,
        routing: { kind: 'journal', endpointArchive, envelopeSender, envelopeRecipients },
      }),
    ),
  );
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    const reason: unknown = failed.reason;
    throw reason;
  }
  const outcomes = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const archives = new Set(outcomes.flatMap((outcome) => outcome.placements.map((placement) => placement.archive)));
  return {
    kind: unwrapped.kind,
    sha: outcomes[0]?.sha.toString('hex') ?? '',
    size: raw.length,
    archives: [...archives].sort(),
  };
}
