// Pulls one POP3 mailbox into the archive. POP3 has no folders and no flags: what is new is told by
// UIDL (RFC 1939), each new message is retrieved and archived into the received folder (or routed
// by its addresses, for multidrop), and recorded once stored. Deletions (DELE) are committed by
// QUIT only after the archive was checked to hold each message; a failed run deletes nothing.
import { archiveHolds, throwIfStopped, type MailboxJob, type PullContext } from '../profiles/job.js';
import { deleteRuleOf } from '../profiles/policy.js';
import { dueForDeletion } from '../profiles/rules.js';
import type { Routing } from '../../ingest/route.js';
import type { SourceScope } from '../../store/profile-state.js';
import { SourceArchiver } from '../profiles/archiver.js';
import { Directions } from '../../store/records.js';
import { headerDate } from '../../mime/header-date.js';
import { connectPop3, Pop3Error } from './client.js';

/** Retrieved messages being prepared and committed while the next is retrieved. */
const INGEST_WINDOW = 16;

export async function pullPop3Mailbox(job: MailboxJob, context: PullContext): Promise<void> {
  const { profile, tally, state, ingest } = context;
  const server = profile.server;
  const client = await connectPop3({
    host: server.host,
    port: server.port,
    security: server.security,
    ignoreCertificateErrors: server.ignoreCertificateErrors,
    timeoutMs: server.timeout,
    user: job.login.user,
    password: job.login.password,
  });
  let quit = false;
  try {
    const scope: SourceScope = { profile: profile.name, mailbox: job.label, folder: '' };
    const known = await state.pop3Items(scope);
    const listing = await client.uidl();
    const present = new Set(listing.map((entry) => entry.uid));
    const vanished = [...known.keys()].filter((uidl) => !present.has(uidl));
    if (vanished.length) {
      await state.deleteItems(scope, vanished.map((uidl) => ({ uidl })));
      for (const uidl of vanished) known.delete(uidl);
    }
    if (job.destination.kind === 'archive') await ingest.ensureFolder({ archive: job.destination.archive, folder: [context.config.folders.received] });
    const routing: Routing =
      job.destination.kind === 'multidrop'
        ? { kind: 'multidrop', unknownArchive: job.destination.unknownArchive }
        : { kind: 'explicit', targets: [{ archive: job.destination.archive, folder: [context.config.folders.received], direction: Directions.Received }] };

    const archiver = new SourceArchiver<{ uidl: string }>(context, scope, INGEST_WINDOW);
    for (const entry of listing) {
      if (known.has(entry.uid)) {
        tally.unchanged += 1;
        continue;
      }
      if (context.signal.aborted) break;
      let raw: Buffer;
      try {
        raw = await client.retrieve(entry.number);
      } catch (err) {
        // The server refused this one message (the session goes on); anything else ends the mailbox.
        if (err instanceof Pop3Error && err.kind === 'command') {
          tally.error({ mailbox: job.label, message: `message ${entry.uid}: not archived: ${err.message}` });
          continue;
        }
        throw err;
      }
      await archiver.add(
        { id: { uidl: entry.uid }, raw, origin: `profile ${profile.name}: pop://${job.label}@${server.host}:${server.port};UIDL=${entry.uid}`, routing, date: headerDate(raw)?.getTime() ?? context.now.getTime() },
        (reason) => tally.error({ mailbox: job.label, message: `message ${entry.uid}: not archived: ${reason}` }),
      );
    }
    await archiver.finish();
    throwIfStopped(context);

    const rule = deleteRuleOf(profile);
    if (rule.kind !== 'never') {
      // What this run archived is in the profile state, not kept in memory: read back.
      const archived = await state.pop3Items(scope);
      const deleted: string[] = [];
      for (const entry of listing) {
        const record = archived.get(entry.uid);
        if (record === undefined) continue;
        // POP3 knows no flags: nothing is flagged, everything counts as read.
        const due = dueForDeletion({ seen: true, flagged: false, date: new Date(record.date) }, new Date(record.archivedAt), rule, { archiveUnread: true }, context.now);
        if (!due) continue;
        if (!(await archiveHolds(context.store, record.sha))) {
          tally.error({ mailbox: job.label, message: `message ${entry.uid}: not deleted: the archive does not hold it` });
          continue;
        }
        await client.delete(entry.number);
        deleted.push(entry.uid);
      }
      // DELE takes effect only at QUIT (RFC 1939 6): the records go once the server confirmed.
      await client.quit();
      quit = true;
      if (deleted.length) {
        await state.deleteItems(scope, deleted.map((uidl) => ({ uidl })));
        tally.deleted += deleted.length;
      }
    }
  } finally {
    if (!quit) await client.quit().catch(() => client.close());
  }
}
