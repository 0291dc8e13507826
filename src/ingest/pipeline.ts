// THE write path. Every source hands raw bytes plus provenance to ingest(): the bytes are hashed,
// parsed and sealed on a worker, routed to their archives and folders, and committed by the
// store's single writer in one atomic, fsync'd batch. The promise resolves only once durable.
import { createHash } from 'node:crypto';
import type { ArchiveStore } from '../store/store.js';
import type { CommitResult, IndexPayload, Unlisting, Writer } from '../store/writer.js';
import type { PreparedContent } from './prepare.js';
import { placeMessage, type AddressBook, type FolderNames, type Routing, type Target } from './route.js';
import { WorkerPool } from './worker-pool.js';

export interface IngestRequest {
  raw: Buffer;
  /** Where the bytes came from, kept with each listing (file path, mbox#n, SMTP session, …). */
  origin: string;
  /** A date the source knows (mbox postmark, SMTP arrival); used when the message has none. */
  receivedAt?: Date;
  routing: Routing;
  /** The caller will not read `raw` again: its memory may move to the worker (worker-pool.ts). */
  handOver?: boolean;
}

export interface IngestOutcome extends CommitResult {
  /** Why the message was flagged as not cleanly parseable; empty when clean. */
  problems: string[];
}

export interface IngestOptions {
  store: ArchiveStore;
  addressBook: AddressBook;
  folders: FolderNames;
  encryptionKey: Buffer | null;
  workers?: number;
}

export class IngestPipeline {
  private readonly writer: Writer;
  private readonly pool: WorkerPool;
  private routingContext: { addressBook: AddressBook; folders: FolderNames };
  private inOrder: Promise<void> = Promise.resolve();

  constructor(options: IngestOptions) {
    this.writer = options.store.getWriter();
    this.pool = new WorkerPool(options.encryptionKey, options.workers);
    this.routingContext = { addressBook: options.addressBook, folders: options.folders };
  }

  async ingest(request: IngestRequest): Promise<IngestOutcome> {
    if (request.routing.kind === 'journal') {
      // Independent SMTP transactions have no order between them to keep: each commits as soon
      // as it is prepared, so one large message does not hold back the 250s of the others.
      const content = await this.pool.prepare(request.raw, request.routing.envelopeRecipients);
      return this.commit(content, request);
    }
    // Imports and profiles are committed in the order they were read, so that UIDs follow the
    // source's order (an mbox, a directory, a mailbox) whatever the workers' timing. The place in line is taken
    // here, before the first await; each message lets the next one commit only after it has.
    const previous = this.inOrder;
    let release = (): void => undefined;
    this.inOrder = new Promise<void>((resolve) => (release = resolve));
    try {
      if (request.routing.kind === 'explicit') {
        // Re-imports are mostly messages already listed where they are going: a hash (cheap, here)
        // and an index lookup answer those without parsing, compressing or a worker round trip.
        const sha = createHash('sha256').update(request.raw).digest();
        const listed = await this.writer.listedIn(sha, request.routing.targets);
        if (listed) return { sha, newContent: false, placements: listed, problems: [] };
      }
      const content = await this.pool.prepare(request.raw, [], request.handOver);
      await previous;
      const committed = this.commit(content, request);
      release();
      return await committed;
    } finally {
      // Already listed, or failed: the next message still waits for those before this one.
      void previous.then(release);
    }
  }

  /** Routes prepared content and hands it to the writer; the writer's queue fixes the order. */
  private async commit(content: PreparedContent, request: IngestRequest): Promise<IngestOutcome> {
    const placements = placeMessage(content, request.routing, this.routingContext, request.origin, request.receivedAt);
    // Multidrop mail for no known address, with nowhere configured for it: not archived at all.
    if (placements.length === 0) return { sha: content.sha, newContent: false, placements: [], problems: content.problems };
    const result = await this.writer.commit({
      sha: content.sha,
      size: content.size,
      sealedBlob: content.sealedBlob,
      sealedMeta: content.sealedMeta,
      placements,
      index: content.index,
    });
    return { ...result, problems: content.problems };
  }

  /** Archive addresses and folder names changed (config reload): applies to messages routed from now on. */
  updateRouting(addressBook: AddressBook, folders: FolderNames): void {
    this.routingContext = { addressBook, folders };
  }

  /** Prepares a stored message's search index payload on the ingest workers (index catch-up). */
  prepareForIndex(raw: Buffer, envelopeRecipients: readonly string[] = []): Promise<IndexPayload> {
    return this.pool.indexPayload(raw, envelopeRecipients);
  }

  /** Creates an archive folder ahead of any message (an import into a new archive). */
  ensureFolder(target: Target): Promise<unknown> {
    return this.writer.ensureFolder(target.archive, target.folder);
  }

  /**
   * Takes a message out of one folder (a profile re-filing a message moved at its source); the
   * content stays stored. False when it was not listed there.
   */
  unlist(unlisting: Unlisting): Promise<boolean> {
    return this.writer.unlist(unlisting);
  }

  async close(): Promise<void> {
    await this.writer.drain();
    await this.pool.close();
  }
}

export function createIngestPipeline(options: IngestOptions): IngestPipeline {
  return new IngestPipeline(options);
}
