// What archiving profiles remember between runs (layout.ts: sourceItem, profileRun): for each
// source message already archived, the content it became and when; and one record per run. Reads
// come straight from the store; writes go through the single writer, fsync'd like messages.
import { decodeRecord, encodeRecord } from './codec.js';
import { prefixRange, u32, u64 } from './layout.js';
import type { Keyspaces } from './store.js';
import type { RecordOp, Writer } from './writer.js';

/** A source message Coffer holds: what it was archived as, and when. */
export interface SourceItemRecord {
  sha: Buffer;
  /** When Coffer first archived it (ms); deletion rules "N days after archiving" count from here. */
  archivedAt: number;
  /** Its send or receive date at the source (IMAP INTERNALDATE, else the Date header), ms. */
  date: number;
}

/** Where source items live: one mailbox folder (POP3 mailboxes have the single folder ""). */
export interface SourceScope {
  profile: string;
  mailbox: string;
  folder: string;
}

export type ItemId = { uidValidity: number; uid: number } | { uidl: string };

export type RunStatus = 'ok' | 'partial' | 'failed';

export interface RunError {
  /** The mailbox (login or address) and folder it concerns, when it concerns one. */
  mailbox?: string;
  folder?: string;
  message: string;
}

export interface RunRecord {
  profile: string;
  trigger: 'schedule' | 'manual';
  startedAt: number;
  finishedAt: number;
  status: RunStatus;
  mailboxes: number;
  archived: number;
  /** Already archived before (a re-run, or content already held): nothing written. */
  unchanged: number;
  /** Left at the source by the filter (unread, too young) or, for multidrop, unknown addresses. */
  skipped: number;
  deleted: number;
  /** Archive listings moved because the message moved at the source. */
  refiled: number;
  errors: RunError[];
  /** More errors happened than the record keeps. */
  errorsOmitted: number;
}

const NUL = Buffer.from([0]);

function scopePrefix(scope: SourceScope): Buffer {
  return Buffer.concat([Buffer.from(scope.profile), NUL, Buffer.from(scope.mailbox), NUL, Buffer.from(scope.folder), NUL]);
}

function itemKey(scope: SourceScope, id: ItemId): Buffer {
  const suffix = 'uid' in id ? Buffer.concat([u32(id.uidValidity), u32(id.uid)]) : Buffer.from(id.uidl);
  return Buffer.concat([scopePrefix(scope), suffix]);
}

function profilePrefix(profile: string): Buffer {
  return Buffer.concat([Buffer.from(profile), NUL]);
}

export class ProfileState {
  private runSequence = 0;

  constructor(
    private readonly spaces: Pick<Keyspaces, 'sourceItem' | 'profileRun'>,
    private readonly writer: Writer,
  ) {}

  /** Every IMAP item of one folder, by UIDVALIDITY then UID. */
  async imapItems(scope: SourceScope): Promise<{ uidValidity: number; uid: number; record: SourceItemRecord }[]> {
    const prefix = scopePrefix(scope);
    const items: { uidValidity: number; uid: number; record: SourceItemRecord }[] = [];
    for await (const [key, value] of this.spaces.sourceItem.iterator(prefixRange(prefix))) {
      if (key.length !== prefix.length + 8) continue;
      items.push({ uidValidity: key.readUInt32BE(prefix.length), uid: key.readUInt32BE(prefix.length + 4), record: decodeRecord<SourceItemRecord>(value) });
    }
    return items;
  }

  /**
   * How many IMAP items a folder has and its highest UID, from the keys alone (a scheduled run of
   * an unchanged folder loads nothing); undefined when an item has another UIDVALIDITY.
   */
  async imapSummary(scope: SourceScope, uidValidity: number): Promise<{ count: number; highestUid: number } | undefined> {
    const prefix = scopePrefix(scope);
    let count = 0;
    let highestUid = 0;
    for await (const key of this.spaces.sourceItem.keys(prefixRange(prefix))) {
      if (key.length !== prefix.length + 8) continue;
      if (key.readUInt32BE(prefix.length) !== uidValidity) return undefined;
      count += 1;
      highestUid = Math.max(highestUid, key.readUInt32BE(prefix.length + 4));
    }
    return { count, highestUid };
  }

  /** Every POP3 item of a mailbox, by UIDL. */
  async pop3Items(scope: SourceScope): Promise<Map<string, SourceItemRecord>> {
    const prefix = scopePrefix(scope);
    const items = new Map<string, SourceItemRecord>();
    for await (const [key, value] of this.spaces.sourceItem.iterator(prefixRange(prefix))) {
      items.set(key.subarray(prefix.length).toString(), decodeRecord<SourceItemRecord>(value));
    }
    return items;
  }

  putItems(scope: SourceScope, items: readonly { id: ItemId; record: SourceItemRecord }[]): Promise<undefined> {
    return this.writer.writeRecords(items.map(({ id, record }): RecordOp => ({ type: 'put', space: 'sourceItem', key: itemKey(scope, id), value: encodeRecord(record) })));
  }

  deleteItems(scope: SourceScope, ids: readonly ItemId[]): Promise<undefined> {
    return this.writer.writeRecords(ids.map((id): RecordOp => ({ type: 'del', space: 'sourceItem', key: itemKey(scope, id) })));
  }

  addRun(run: RunRecord): Promise<undefined> {
    // The sequence keeps two runs started in the same millisecond (or under a stopped clock) apart.
    const key = Buffer.concat([profilePrefix(run.profile), u64(run.startedAt), u32(this.runSequence++)]);
    return this.writer.writeRecords([{ type: 'put', space: 'profileRun', key, value: encodeRecord(run) }]);
  }

  /** The most recent runs of a profile, newest first. */
  async history(profile: string, limit: number): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    for await (const value of this.spaces.profileRun.values({ ...prefixRange(profilePrefix(profile)), reverse: true, limit })) {
      runs.push(decodeRecord<RunRecord>(value));
    }
    return runs;
  }
}
