// Pulls one IMAP mailbox into the archive: lists its folders and applies the folder rules, then per
// folder compares what the server has (UIDVALIDITY, UIDs, flags, dates) with what the profile
// already archived from it, fetches the new messages in batches (one UID FETCH per batch, many
// messages per round trip) through the one write path, and records each only once it is stored.
// Once every folder is done, messages moved between folders are re-filed (refile.ts); deletion
// rules run after everything was archived, and only for messages the store is checked to hold.
import type { FetchMessageObject, ImapFlow, ListResponse } from 'imapflow';
import { Directions } from '../../store/records.js';
import type { SourceItemRecord, SourceScope } from '../../store/profile-state.js';
import { SourceArchiver } from '../profiles/archiver.js';
import type { Routing } from '../../ingest/route.js';
import { archiveHolds, RunStopped, throwIfStopped, type MailboxJob, type PullContext } from '../profiles/job.js';
import { deleteRuleOf, filterOf, folderRulesOf, needsFullScan } from '../profiles/policy.js';
import { dueForDeletion, passesFilter, type SourceState } from '../profiles/rules.js';
import { connectImap, describeImapFailure } from './connect.js';
import { effectiveFolders, type EffectiveFolder, type SourceFolder } from './folder-rules.js';
import { refileMoved, type FolderOutcome } from './refile.js';
import { ServerListing, type ServerMessage } from './server-listing.js';

/** A batch is cut at this many messages or bytes: bounded memory, few round trips. */
const BATCH_MESSAGES = 500;
const BATCH_BYTES = 32 * 1024 * 1024;
/**
 * Messages being prepared and committed at once while the fetch goes on: enough that the writer's
 * groups (one fsync each) are large; 64 cost the 100,000-message benchmark ~6%, 128 nothing
 * measurable against 256, and holds half as many messages (bench/README.md).
 */
const INGEST_WINDOW = 128;

interface ListedFolder {
  /** The server's name for it (UTF-8, its delimiter), for SELECT. */
  serverPath: string;
  folder: EffectiveFolder;
}

function sourceFolderOf(entry: ListResponse): SourceFolder {
  const path = entry.delimiter ? entry.path.split(entry.delimiter) : [entry.path];
  // ImapFlow guesses special use from names when the server says nothing; only the server's word counts.
  const specialUse = entry.specialUseSource === 'extension' ? entry.specialUse : undefined;
  return { path, ...(specialUse ? { specialUse } : {}), ...(entry.flags.has('\\Noselect') || entry.flags.has('\\NonExistent') ? { noSelect: true } : {}) };
}

/** The effective folder list of a mailbox under a profile's rules (`coffer profile folders`). */
export async function effectiveFoldersOf(client: ImapFlow, context: Pick<PullContext, 'profile'>): Promise<{ serverPath: string; folder: EffectiveFolder }[]> {
  const listed = await client.list();
  const hasSpecialUse = client.capabilities.has('SPECIAL-USE');
  const effective = effectiveFolders(listed.map(sourceFolderOf), folderRulesOf(context.profile), hasSpecialUse);
  return listed.map((entry, i) => ({ serverPath: entry.path, folder: effective[i]! }));
}

/** Reconnections one mailbox pull may make after a dropped connection before it gives up. */
const MAX_RECONNECTS = 5;

/** The mailbox's connection, re-established (and the folder re-opened) after a drop. */
class Session {
  private reconnects = 0;
  private openPath: string | undefined;

  constructor(
    public client: ImapFlow,
    private readonly job: MailboxJob,
    private readonly context: PullContext,
  ) {}

  async open(path: string, readOnly: boolean): Promise<{ uidValidity: number; uidNext: number; exists: number }> {
    await this.ensureConnected();
    const mailbox = await this.client.mailboxOpen(path, { readOnly });
    this.openPath = path;
    return { uidValidity: Number(mailbox.uidValidity), uidNext: mailbox.uidNext, exists: mailbox.exists };
  }

  /** A fresh connection with the same folder open, when the last one was dropped. */
  async ensureConnected(): Promise<void> {
    if (this.client.usable) return;
    if (this.reconnects >= MAX_RECONNECTS) throw new Error(`the connection was lost ${MAX_RECONNECTS + 1} times; giving up on this mailbox for this run`);
    this.reconnects += 1;
    this.client.close();
    this.client = await connectImap(this.context.profile.server, this.job.login);
    if (this.openPath !== undefined) await this.client.mailboxOpen(this.openPath, { readOnly: true });
  }

  async close(): Promise<void> {
    await this.client.logout().catch(() => this.client.close());
  }
}

export async function pullImapMailbox(job: MailboxJob, context: PullContext): Promise<void> {
  const { profile, ingest, tally } = context;
  const session = new Session(await connectImap(profile.server, job.login), job, context);
  try {
    if (job.destination.kind === 'archive') await ingest.ensureFolder({ archive: job.destination.archive, folder: [context.config.folders.received] });
    const folders = (await effectiveFoldersOf(session.client, context)).filter((entry) => entry.folder.archived);
    const passes: FolderPass[] = [];
    let failedFolders = 0;
    for (const entry of folders) {
      try {
        throwIfStopped(context);
        passes.push(await archiveFolder(session, entry, job, context));
      } catch (err) {
        if (err instanceof RunStopped) throw err;
        failedFolders += 1;
        tally.error({ mailbox: job.label, folder: entry.serverPath, message: describeImapFailure(err, profile.server, `archive folder "${entry.serverPath}"`) });
      }
    }
    throwIfStopped(context);
    // Where a vanished message went is only known when every folder was read; else the next run
    // decides. Any folder may be where one went, a folder skipped as unchanged too.
    if (failedFolders === 0 && passes.some((pass) => pass.vanished.length)) {
      const outcomes: FolderOutcome[] = [];
      for (const pass of passes) outcomes.push({ ...pass, known: await knownItems(context.state, pass) });
      await refileMoved(outcomes, job, context);
    }
    // The manual: deletion runs after everything was archived, so a failure above deletes nothing extra.
    if (profile.delete === 'never') return;
    for (const pass of passes) {
      try {
        await deleteDue(session, pass, await knownItems(context.state, pass), job, context);
      } catch (err) {
        tally.error({ mailbox: job.label, folder: pass.serverPath, message: describeImapFailure(err, profile.server, `delete in folder "${pass.serverPath}"`) });
      }
    }
  } finally {
    await session.close();
  }
}

async function archiveFolder(session: Session, entry: ListedFolder, job: MailboxJob, context: PullContext): Promise<FolderPass> {
  const { state, tally } = context;
  const scope: SourceScope = { profile: context.profile.name, mailbox: job.label, folder: entry.serverPath };
  const mailbox = await session.open(entry.serverPath, true);
  const uidValidity = mailbox.uidValidity;
  // Multidrop mail is routed by its addresses, not its folder: moving it changes nothing there.
  const target = job.destination.kind === 'archive' ? { archive: job.destination.archive, folder: archiveFolderOf(entry, context) } : undefined;
  const pass: FolderPass = { serverPath: entry.serverPath, scope, uidValidity, target, server: new ServerListing(), vanished: [], unchanged: false };
  // Nothing new since the last run, and no rule that looks at old messages: nothing to do. (Equal
  // counts and the highest UID known: any new message would have raised UIDNEXT past it.)
  if (!needsFullScan(context.profile)) {
    const summary = await state.imapSummary(scope, uidValidity);
    if (summary && summary.count === mailbox.exists && summary.highestUid === mailbox.uidNext - 1) {
      tally.unchanged += summary.count;
      pass.unchanged = true;
      return pass;
    }
  }
  const items = await state.imapItems(scope);
  const known = new Map<number, SourceItemRecord>();
  const stale = [];
  for (const item of items) {
    if (item.uidValidity === uidValidity) known.set(item.uid, item.record);
    else stale.push({ uidValidity: item.uidValidity, uid: item.uid });
  }
  // UIDVALIDITY changed: the old UIDs mean nothing now. Everything is fetched again and content
  // dedup keeps the archive from listing anything twice.
  if (stale.length) await state.deleteItems(scope, stale);

  const server = new ServerListing();
  if (mailbox.exists > 0) {
    for await (const message of session.client.fetch('1:*', { uid: true, flags: true, internalDate: true, size: true })) {
      if (!isAnswer(message, 'size')) continue;
      server.add(serverMessageOf(message));
    }
  }
  // Gone from the source (deleted, or moved to another folder): refile.ts decides which, and forgets them.
  for (const [uid, record] of known) {
    if (server.has(uid)) continue;
    pass.vanished.push({ id: { uidValidity, uid }, record });
    known.delete(uid);
  }

  const filter = filterOf(context.profile);
  const wanted: number[] = [];
  for (const message of server) {
    if (known.has(message.uid)) tally.unchanged += 1;
    else if (passesFilter(message, filter, context.now)) wanted.push(message.uid);
    else tally.skipped += 1;
  }
  // What this pass archives is recorded in the profile state, not kept in memory: re-filing and
  // deletion read it back. Deletion also needs the server's flags and dates.
  if (context.profile.delete !== 'never') pass.server = server;
  const batchContext: BatchContext = { entry, scope, uidValidity, job, context };
  // The next batch is fetched while the last messages of the one before are still being stored,
  // so the workers never wait for a round trip to the server between batches.
  let storing: Promise<void> = Promise.resolve();
  try {
    for (const batch of batches(wanted, server)) {
      throwIfStopped(context);
      const fetched = await fetchBatch(session.client, batch, batchContext);
      await storing;
      storing = fetched.stored;
      // The connection dropped mid-batch (Dovecot does that on a message it cannot read): the rest
      // is fetched one message at a time on a new connection, so one bad message costs only itself.
      for (const message of fetched.missed) {
        await session.ensureConnected();
        if (Number(session.client.mailbox && session.client.mailbox.uidValidity) !== uidValidity) throw new Error('UIDVALIDITY changed during the run');
        await (await fetchBatch(session.client, [message], batchContext, true)).stored;
      }
    }
  } finally {
    await storing;
  }
  return pass;
}

/** One folder's pass; what it archived is read back from the profile state when needed. */
interface FolderPass extends Omit<FolderOutcome, 'known'> {
  serverPath: string;
  uidValidity: number;
  /** What the server listed, kept only for deletion rules (empty when skipped as unchanged). */
  server: ServerListing;
  /** Skipped: the same messages as after the last run. */
  unchanged: boolean;
}

/** What the folder holds now that Coffer archived, by UID: its items, less those that vanished. */
async function knownItems(state: PullContext['state'], pass: FolderPass): Promise<Map<number, SourceItemRecord>> {
  const known = new Map<number, SourceItemRecord>();
  for (const item of await state.imapItems(pass.scope)) if (item.uidValidity === pass.uidValidity) known.set(item.uid, item.record);
  for (const { id } of pass.vanished) known.delete(id.uid);
  return known;
}

interface BatchContext {
  entry: ListedFolder;
  scope: SourceScope;
  uidValidity: number;
  job: MailboxJob;
  context: PullContext;
}

/**
 * Fetches one batch and starts archiving it: `stored` settles once every message received is
 * stored or reported. When the connection drops, `missed` holds the messages not yet received
 * (unless this was the last attempt, alone); every other failure is reported here.
 */
async function fetchBatch(client: ImapFlow, batch: ServerMessage[], batchContext: BatchContext, lastAttempt = false): Promise<{ missed: ServerMessage[]; stored: Promise<void> }> {
  const { entry, scope, uidValidity, job, context } = batchContext;
  const { tally } = context;
  const byUid = new Map(batch.map((message) => [message.uid, message]));
  const received = new Set<number>();
  const archiver = new SourceArchiver<{ uidValidity: number; uid: number }>(context, scope, INGEST_WINDOW);
  const routing = routingFor(job, entry, context);
  const origin = (uid: number): string =>
    `profile ${context.profile.name}: imap://${job.label}@${context.profile.server.host}:${context.profile.server.port}/${entry.serverPath};UIDVALIDITY=${uidValidity}/;UID=${uid}`;
  // Why a message of the batch was not archived, when it was not.
  const notArchived = new Map<number, string>();

  let fetchError: unknown;
  try {
    for await (const fetched of client.fetch(uidSet(batch.map((m) => m.uid)), { uid: true, source: true }, { uid: true })) {
      const message = byUid.get(fetched.uid);
      if (message === undefined || !isAnswer(fetched, 'source') || received.has(fetched.uid)) continue;
      received.add(fetched.uid);
      await archiver.add(
        { id: { uidValidity, uid: message.uid }, raw: fetched.source, origin: origin(message.uid), routing, date: message.date.getTime(), receivedAt: message.date },
        (reason) => notArchived.set(message.uid, reason),
      );
    }
  } catch (err) {
    fetchError = err;
  }
  const dropped = fetchError !== undefined && !client.usable;
  const missed = dropped && !lastAttempt ? batch.filter((message) => !received.has(message.uid)) : [];
  // Each message the server did not hand over is reported; the next run asks for it again.
  const notFetched = fetchError === undefined ? 'the server did not return it' : describeImapFailure(fetchError, context.profile.server, 'fetch');
  const stored = archiver.finish().then(() => {
    for (const message of batch) {
      if (!received.has(message.uid) && !missed.includes(message)) notArchived.set(message.uid, notFetched);
      const reason = notArchived.get(message.uid);
      if (reason !== undefined) tally.error({ mailbox: job.label, folder: entry.serverPath, message: `UID ${message.uid}: not archived: ${reason}` });
    }
  });
  // Awaited by the caller; until then a failure must not count as unhandled.
  stored.catch(() => undefined);
  return { missed, stored };
}

function routingFor(job: MailboxJob, entry: ListedFolder, context: PullContext): Routing {
  if (job.destination.kind === 'multidrop') return { kind: 'multidrop', unknownArchive: job.destination.unknownArchive };
  // Sent mail is recognised by the folder it is in (manual 2.3 "Defining Sent Items Folders").
  const direction = entry.folder.sent ? Directions.Sent : Directions.Received;
  return { kind: 'explicit', targets: [{ archive: job.destination.archive, folder: archiveFolderOf(entry, context), direction }] };
}

/** The source folder tree under the archive; the source's INBOX is the archive's received folder. */
function archiveFolderOf(entry: ListedFolder, context: PullContext): string[] {
  const [first, ...rest] = entry.folder.path;
  return first !== undefined && first.toUpperCase() === 'INBOX' ? [context.config.folders.received, ...rest] : entry.folder.path;
}

async function deleteDue(session: Session, pass: FolderPass, known: ReadonlyMap<number, SourceItemRecord>, job: MailboxJob, context: PullContext): Promise<void> {
  const rule = deleteRuleOf(context.profile);
  const filter = filterOf(context.profile);
  const due: number[] = [];
  for (const [uid, record] of known) {
    const message = pass.server.get(uid);
    if (message === undefined) continue;
    const state: SourceState = { seen: message.seen, flagged: message.flagged, date: message.date };
    if (!dueForDeletion(state, new Date(record.archivedAt), rule, filter, context.now)) continue;
    if (await archiveHolds(context.store, record.sha)) due.push(uid);
    else context.tally.error({ mailbox: job.label, folder: pass.serverPath, message: `UID ${uid}: not deleted: the archive does not hold it` });
  }
  if (!due.length) return;
  const mailbox = await session.open(pass.serverPath, false);
  if (mailbox.uidValidity !== pass.uidValidity) {
    context.tally.error({ mailbox: job.label, folder: pass.serverPath, message: 'not deleted: UIDVALIDITY changed during the run' });
    return;
  }
  for (let start = 0; start < due.length; start += BATCH_MESSAGES) {
    const chunk = due.slice(start, start + BATCH_MESSAGES);
    await session.client.messageDelete(uidSet(chunk), { uid: true });
    await context.state.deleteItems(pass.scope, chunk.map((uid) => ({ uidValidity: pass.uidValidity, uid })));
    context.tally.deleted += chunk.length;
  }
}

/**
 * imapflow hands a FETCH command every untagged FETCH that arrives while it runs, including the
 * server's unsolicited flag updates (RFC 3501 section 7.4.2: another session changed a message's
 * flags; during a UID command they carry the UID). Such a row lacks the items asked for: taken for
 * the answer, it listed the message without date or size (so an age filter skipped it), or had it
 * reported as delivered without content while the real answer after it was ignored.
 */
function isAnswer<Item extends 'size' | 'source'>(row: FetchMessageObject, asked: Item): row is FetchMessageObject & Required<Pick<FetchMessageObject, Item>> {
  return row[asked] !== undefined;
}

function serverMessageOf(message: FetchMessageObject): ServerMessage {
  const flags = message.flags ?? new Set<string>();
  const internal = message.internalDate === undefined ? undefined : new Date(message.internalDate);
  return {
    uid: message.uid,
    seen: flags.has('\\Seen'),
    flagged: flags.has('\\Flagged'),
    date: internal !== undefined && Number.isFinite(internal.getTime()) ? internal : new Date(Number.NaN),
    size: message.size ?? 0,
  };
}

/** The wanted messages in FETCH batches; only a batch's worth is unpacked from the listing at a time. */
function* batches(uids: readonly number[], listing: ServerListing): Generator<ServerMessage[]> {
  let batch: ServerMessage[] = [];
  let bytes = 0;
  for (const uid of uids) {
    const message = listing.get(uid)!;
    if (batch.length && (batch.length >= BATCH_MESSAGES || bytes + message.size > BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += message.size;
  }
  if (batch.length) yield batch;
}

/** "1:3,7,9:10" for ascending UIDs. */
function uidSet(uids: readonly number[]): string {
  const parts: string[] = [];
  let start = uids[0];
  let previous = start;
  for (const uid of uids.slice(1)) {
    if (uid === previous! + 1) {
      previous = uid;
      continue;
    }
    parts.push(start === previous ? `${start}` : `${start}:${previous}`);
    start = previous = uid;
  }
  if (start !== undefined) parts.push(start === previous ? `${start}` : `${start}:${previous}`);
  return parts.join(',');
}
