// FETCH and UID FETCH. Metadata (FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODYSTRUCTURE) comes
// from the listing and the MessageMeta stored at ingest, never from reparsing. BODY[] and RFC822
// are the archived bytes exactly as received; other sections are cut from them by imap-core.
// Responses go out one message at a time: the next is written only after the previous one was
// taken by the connection's stream (backpressure), while the next batch is read from the store.
import type { EntryRecord, MessageMeta } from '../../store/records.js';
import type { ArchiveStore } from '../../store/store.js';
import { compileResponse, compileResponseStream, type FetchOptions, type FetchQueryItem, type ImapSession } from '../../vendor/imap-core.js';
import type { ImapContext } from '../context.js';
import { ARCHIVE_FLAGS } from '../flags.js';

/** Listings read per store round trip: metadata is small, whole messages are not. */
const METADATA_BATCH = 256;
const CONTENT_BATCH = 16;
const CRLF = Buffer.from('\r\n');

interface LoadedMessage {
  uid: number;
  entry: EntryRecord;
  meta: MessageMeta;
  raw: Buffer | null;
}

export function createOnFetch(context: ImapContext) {
  return async (mailbox: number, options: FetchOptions, session: ImapSession): Promise<true> => {
    const state = context.sessions.of(session);
    const selected = state.selected;
    // The empty INBOX of an archive without mail, or a mailbox that is no longer selected.
    if (!selected || selected.folderId !== mailbox) return true;
    const whole = options.query.map(isWholeMessage);
    const needsContent = !options.metadataOnly;
    const sections = options.query.filter((_, i) => !whole[i]);
    const retrieves = options.query.some((item) => item.isLiteral === true);
    const who = context.sessions.identity(session);
    const acceptUTF8Enabled = session.isUTF8Enabled();

    let uids = [...options.messages].sort((a, b) => a - b);
    // CHANGEDSINCE (RFC 7162): a message's mod-sequence is its UID, see notifier.ts.
    if (options.changedSince) uids = uids.filter((uid) => uid > Number(options.changedSince));
    const batchSize = needsContent ? CONTENT_BATCH : METADATA_BATCH;
    const batches: number[][] = [];
    for (let i = 0; i < uids.length; i += batchSize) batches.push(uids.slice(i, i + batchSize));

    // The next batch is read while this one is written; its failure surfaces when it is awaited
    // (the catch only keeps it from counting as unhandled in the meantime).
    const prefetch = (b: number): Promise<LoadedMessage[]> | null => {
      if (b >= batches.length) return null;
      const loading = load(context.store, mailbox, batches[b]!, needsContent);
      loading.catch(() => undefined);
      return loading;
    };
    let next = prefetch(0);
    for (let b = 0; b < batches.length; b++) {
      const messages = await next!;
      next = prefetch(b + 1);
      // Metadata responses of a batch go out as one write (one TLS record, not one per message).
      const compiled: Buffer[] = [];
      for (const message of messages) {
        if (session.socket.destroyed) return true;
        const imapMessage = {
          uid: message.uid,
          modseq: message.uid,
          flags: [...ARCHIVE_FLAGS],
          idate: new Date(message.entry.internalDate),
          size: message.meta.size,
          envelope: message.meta.envelope,
          bodystructure: message.meta.bodystructure,
          ...(message.raw ? { raw: message.raw } : {}),
        };
        const computed = sections.length ? session.getQueryResponse(sections, imapMessage, { acceptUTF8Enabled }) : [];
        let section = 0;
        const values = options.query.map((item, i) => literalSafe(item, whole[i] ? wholeMessageValue(item, message.raw!) : computed[section++]));
        const response = session.formatResponse('FETCH', message.uid, { query: options.query, values });
        if (!response) continue;
        if (needsContent) await write(session, compileResponseStream(response));
        else compiled.push(compileResponse(response), CRLF);
        if (retrieves) context.audit.messageRetrieved(who, { archive: selected.archive, folder: selected.folder }, message.uid);
      }
      // The connection appends the last CRLF itself.
      if (compiled.length) await write(session, { compiled: Buffer.concat(compiled.slice(0, -1)) });
    }
    return true;
  };
}

/** BODY[], BODY.PEEK[] and RFC822: the whole message, served from the archived bytes. */
function isWholeMessage(item: FetchQueryItem): boolean {
  return item.item === 'rfc822' || (item.item === 'body' && item.path === '' && item.type === 'content');
}

/**
 * imap-core's stream compiler declares a Buffer literal's length as the length of its UTF-8
 * decoding: for 8-bit text that is fewer than its bytes, and the client reads a corrupt stream.
 * A binary (latin1) string has one character per byte and is written back byte for byte.
 */
function literalSafe(item: FetchQueryItem, value: unknown): unknown {
  return item.isLiteral && Buffer.isBuffer(value) ? value.toString('latin1') : value;
}

function wholeMessageValue(item: FetchQueryItem, raw: Buffer): Buffer {
  if (!item.partial) return raw;
  const { startFrom, maxLength } = item.partial;
  // RFC 3501 7.4.2: the response names only the origin octet, "BODY[]<0>", whatever the length asked.
  if (Array.isArray(item.original.partial) && item.original.partial.length > 1) item.original.partial = item.original.partial.slice(0, 1);
  return raw.subarray(startFrom, maxLength ? startFrom + maxLength : undefined);
}

async function load(store: ArchiveStore, folderId: number, uids: number[], withContent: boolean): Promise<LoadedMessage[]> {
  const entries = await store.getEntries(uids.map((uid) => ({ folderId, uid })));
  const present = entries.flatMap((entry, i) => (entry ? [{ uid: uids[i]!, entry }] : []));
  const metas = await store.getMessages(present.map(({ entry }) => entry.sha));
  const raws = withContent ? await store.readRaws(present.map(({ entry }) => entry.sha)) : [];
  return present.flatMap(({ uid, entry }, i) => {
    const meta = metas[i];
    return meta ? [{ uid, entry, meta, raw: raws[i] ?? null }] : [];
  });
}

function write(session: ImapSession, response: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    session.writeStream.write(response, (err) => (err ? reject(err) : resolve()));
  });
}
