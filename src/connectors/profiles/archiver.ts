// Archives the messages a pull fetches: each goes through the one write path with a bounded number
// in flight (the fetch goes on meanwhile), is counted in the run's tally, and is recorded as a
// source item only once it is stored, in groups (one fsync'd write each). Shared by IMAP and POP3.
import type { Routing } from '../../ingest/route.js';
import type { ItemId, SourceItemRecord, SourceScope } from '../../store/profile-state.js';
import type { PullContext } from './job.js';

const RECORD_GROUP = 256;

export interface SourceMessage<Id extends ItemId> {
  id: Id;
  /** Handed over to ingest: may be left empty once add() is called (worker-pool.ts). */
  raw: Buffer;
  origin: string;
  routing: Routing;
  /** The source's date for it (IMAP INTERNALDATE, else the Date header), ms. */
  date: number;
  receivedAt?: Date;
}

export class SourceArchiver<Id extends ItemId> {
  private records: { id: Id; record: SourceItemRecord }[] = [];
  private readonly inFlight: Promise<void>[] = [];

  constructor(
    private readonly context: PullContext,
    private readonly scope: SourceScope,
    private readonly window: number,
  ) {}

  /**
   * Starts archiving one message; resolves once there is room for the next. onFailure gets a
   * reason when it could not be archived.
   */
  async add(message: SourceMessage<Id>, onFailure: (reason: string) => void): Promise<void> {
    this.inFlight.push(this.archive(message).catch((err: unknown) => onFailure(err instanceof Error ? err.message : String(err))));
    if (this.inFlight.length >= this.window) await this.inFlight.shift();
  }

  /** Waits for every message started and writes the remaining records. */
  async finish(): Promise<void> {
    await Promise.all(this.inFlight.splice(0));
    await this.flush();
  }

  private async archive(message: SourceMessage<Id>): Promise<void> {
    const { tally, now } = this.context;
    const { raw, origin, routing, receivedAt } = message;
    const outcome = await this.context.ingest.ingest({ raw, origin, routing, handOver: true, ...(receivedAt === undefined ? {} : { receivedAt }) });
    if (outcome.placements.length === 0) {
      tally.skipped += 1; // multidrop mail for no known address, with nowhere configured for it
      return;
    }
    if (outcome.placements.some((placement) => placement.added)) tally.archived += 1;
    else tally.unchanged += 1;
    const record: SourceItemRecord = { sha: outcome.sha, archivedAt: now.getTime(), date: message.date };
    this.records.push({ id: message.id, record });
    if (this.records.length >= RECORD_GROUP) await this.flush();
  }

  private async flush(): Promise<void> {
    const group = this.records;
    this.records = [];
    if (group.length) await this.context.state.putItems(this.scope, group);
  }
}
