// FETCH and UID FETCH. Metadata (FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODYSTRUCTURE) comes
// from the listing and the MessageMeta stored at ingest, never from reparsing, and recently used
// ENVELOPE/BODYSTRUCTURE text from the metadata cache. BODY[] and RFC822 are the archived bytes
// exactly as received; other sections are cut from them by imap-core. The next batch is read from
// the store while this one is written, and each write waits until the connection has taken the
// previous one (backpressure). A message too costly to take apart (mime/parse-limits.ts) gets no
// response to a FETCH of its sections, and the FETCH ends NO [LIMIT].
import type { EntryRecord, MessageMeta } from '../../store/records.js';
import type { ArchiveStore } from '../../store/store.js';
import { compileResponse, compileResponseStream, type FetchOptions, type FetchQueryItem, type ImapSession, type MimeNode } from '../../vendor/imap-core.js';
import { listItems } from '../compile-structure.js';
import type { ImapContext } from '../context.js';
import { ARCHIVE_FLAGS } from '../flags.js';
import type { CompiledMetadata, MetadataCache } from '../metadata-cache.js';
import { parseWithinLimits } from '../../mime/parse-limits.js';
import { answerPartialWithOrigin, DirectResponseWriter, isDirectQuery, isWholeMessage, wholeMessageBytes } from '../direct-response.js';

/** Listings read per store round trip: metadata is small, whole messages are not. */
const METADATA_BATCH = 512;
const CONTENT_BATCH = 32;
const FLUSH_BYTES = 256 * 1024;
/** The items answered from a message's stored metadata rather than its listing or its bytes. */
const STORED_METADATA_ITEMS = new Set(['rfc822.size', 'envelope', 'bodystructure']);
/** Items imap-core answers without taking the message apart (RFC822.SIZE: given the stored size). */
const WITHOUT_TREE_ITEMS = new Set(['uid', 'modseq', 'flags', 'internaldate', 'rfc822.size']);
const STRUCTURE_ITEMS = [{ item: 'envelope' }, { item: 'bodystructure' }] as unknown as FetchQueryItem[];

interface LoadedMessage {
  uid: number;
  entry: EntryRecord;
  /** Absent when the metadata cache had what this FETCH needs. */
  meta: MessageMeta | null;
  compiled: CompiledMetadata | null;
  raw: Buffer | null;
}

export function createOnFetch(context: ImapContext) {
  return async (mailbox: number, options: FetchOptions, session: ImapSession): Promise<true | 'LIMIT'> => {
    const selected = context.sessions.of(session).selected;
    // The empty INBOX of an archive without mail, or a mailbox that is no longer selected.
    if (!selected || selected.folderId !== mailbox) return true;
    const whole = options.query.map(isWholeMessage);
    const structure = options.query.map((item) => item.item === 'envelope' || item.item === 'bodystructure');
    const anyStructure = structure.includes(true);
    const needsContent = !options.metadataOnly;
    const others = options.query.filter((_, i) => !whole[i] && !structure[i]);
    const needsTree = others.some((item) => !WITHOUT_TREE_ITEMS.has(item.item));
    let notTakenApart = false;
    const retrieves = options.query.some((item) => item.isLiteral === true);
    const who = context.sessions.identity(session);
    const utf8 = session.isUTF8Enabled();
    const cache = context.metadataCache;
    // A download (BODY[] with UID or FLAGS) needs no stored metadata at all.
    const needsMetadata = options.query.some((item) => STORED_METADATA_ITEMS.has(item.item));

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
      const loading = load(context.store, mailbox, batches[b]!, { content: needsContent, metadata: needsMetadata, cache, utf8 });
      loading.catch(() => undefined);
      return loading;
    };
    const output = new ResponseBuffer(session);
    // What clients ask for on opening a folder and on syncing it, written without a response tree.
    const direct = isDirectQuery(options.query) && session.selected ? new DirectResponseWriter(options.query, session.selected.uidList) : null;
    options.query.forEach(answerPartialWithOrigin);
    let next = prefetch(0);
    for (let b = 0; b < batches.length; b++) {
      const messages = await next!;
      next = prefetch(b + 1);
      for (const message of messages) {
        if (session.socket.destroyed) return true;
        if (direct) {
          const compiled = needsMetadata ? compiledMetadata(session, message, cache, utf8) : null;
          const parts = direct.response({ uid: message.uid, flags: ARCHIVE_FLAGS, internalDate: message.entry.internalDate, compiled, raw: message.raw });
          if (parts === null) continue;
          await output.add(parts);
          if (retrieves) context.audit.messageRetrieved(who, { archive: selected.archive, folder: selected.folder }, message.uid);
          continue;
        }
        let mimeTree: MimeNode | undefined;
        if (needsTree && message.raw) {
          const parsed = parseWithinLimits(message.raw);
          if (typeof parsed === 'string') {
            notTakenApart = true;
            continue;
          }
          mimeTree = parsed;
        }
        const compiled = anyStructure ? compiledMetadata(session, message, cache, utf8) : null;
        const imapMessage = {
          uid: message.uid,
          modseq: message.uid,
          flags: [...ARCHIVE_FLAGS],
          idate: new Date(message.entry.internalDate),
          size: message.compiled?.size ?? message.meta?.size,
          ...(message.raw ? { raw: message.raw } : {}),
          ...(mimeTree ? { mimeTree } : {}),
        };
        const computed = others.length ? session.getQueryResponse(others, imapMessage, { acceptUTF8Enabled: utf8 }) : [];
        let other = 0;
        const values = options.query.map((item, i) => {
          // Binary strings, one character per byte (see literalSafe).
          if (whole[i]) return wholeMessageBytes(item, message.raw!).toString('latin1');
          if (structure[i]) return [{ type: 'TEXT', value: item.item === 'envelope' ? compiled!.envelope : compiled!.bodystructure }];
          return literalSafe(item, computed[other++]);
        });
        const response = session.formatResponse('FETCH', message.uid, { query: options.query, values });
        if (!response) continue;
        if (values.some(isStream)) {
          // A body section imap-core streams: everything before it goes first.
          await output.flush();
          await write(session, compileResponseStream(response));
        } else await output.add([compileResponse(response)]);
        if (retrieves) context.audit.messageRetrieved(who, { archive: selected.archive, folder: selected.folder }, message.uid);
      }
      await output.flush();
    }
    return notTakenApart ? 'LIMIT' : true;
  };
}

/**
 * ENVELOPE and BODYSTRUCTURE as written: from the cache, or built from the stored structures as
 * imap-core's getQueryResponse prepares them (encoded words unless UTF8=ACCEPT), compiled in one
 * pass (compile-structure.ts, without the outer parentheses that the response adds), and cached.
 */
function compiledMetadata(session: ImapSession, message: LoadedMessage, cache: MetadataCache, utf8: boolean): CompiledMetadata {
  if (message.compiled) return message.compiled;
  const meta = message.meta!;
  const [envelope, bodystructure] = session.getQueryResponse(STRUCTURE_ITEMS, { envelope: meta.envelope, bodystructure: meta.bodystructure }, { acceptUTF8Enabled: utf8 }) as [unknown[], unknown[]];
  const compiled = { size: meta.size, envelope: listItems(envelope), bodystructure: listItems(bodystructure) };
  cache.set(message.entry.sha, utf8, compiled);
  message.compiled = compiled;
  return compiled;
}

/**
 * imap-core's compilers declare a Buffer literal's length as the length of its UTF-8 decoding:
 * for 8-bit text that is fewer than its bytes, and the client reads a corrupt stream. A binary
 * (latin1) string has one character per byte and is written back byte for byte.
 */
function literalSafe(item: FetchQueryItem, value: unknown): unknown {
  return item.isLiteral && Buffer.isBuffer(value) ? value.toString('latin1') : value;
}

function isStream(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'stream';
}

async function load(store: ArchiveStore, folderId: number, uids: number[], options: { content: boolean; metadata: boolean; cache: MetadataCache; utf8: boolean }): Promise<LoadedMessage[]> {
  const entries = await store.getEntries(uids.map((uid) => ({ folderId, uid })));
  const present = entries.flatMap((entry, i) => (entry ? [{ uid: uids[i]!, entry, compiled: options.cache.get(entry.sha, options.utf8) ?? null }] : []));
  // Stored metadata only when the FETCH needs it and the cache does not have it.
  const missing = options.metadata ? present.filter((message) => !message.compiled) : [];
  const metas = await store.getMessages(missing.map(({ entry }) => entry.sha));
  const metaOf = new Map(missing.map((message, i) => [message, metas[i]]));
  const raws = options.content ? await store.readRaws(present.map(({ entry }) => entry.sha)) : [];
  return present.flatMap((message, i) => {
    const meta = metaOf.get(message) ?? null;
    // A listing whose message metadata is missing (a damaged store) is skipped, as absent.
    if (options.metadata && !message.compiled && !meta) return [];
    return [{ ...message, meta, raw: raws[i] ?? null }];
  });
}

/**
 * Responses are collected and written together, up to FLUSH_BYTES: one TLS record and one system
 * call for many small responses, and their text turned into bytes once. Each write waits until the
 * connection has taken the previous one, so a slow client holds the server back instead of
 * filling its memory.
 */
class ResponseBuffer {
  private chunks: Buffer[] = [];
  private text = '';
  private bytes = 0;

  constructor(private readonly session: ImapSession) {}

  /** One response, given as its parts: binary strings and message bytes. */
  async add(response: readonly (string | Buffer)[]): Promise<void> {
    if (this.bytes > 0) this.text += '\r\n';
    for (const part of response) {
      if (typeof part === 'string') this.text += part;
      else {
        this.takeText();
        this.chunks.push(part);
      }
      this.bytes += part.length;
    }
    if (this.bytes >= FLUSH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    this.takeText();
    if (!this.chunks.length) return;
    // The connection ends each written response with CRLF itself.
    const compiled = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.bytes = 0;
    await write(this.session, { compiled });
  }

  private takeText(): void {
    if (this.text) this.chunks.push(Buffer.from(this.text, 'latin1'));
    this.text = '';
  }
}

function write(session: ImapSession, response: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    session.writeStream.write(response, (err) => (err ? reject(err) : resolve()));
  });
}
