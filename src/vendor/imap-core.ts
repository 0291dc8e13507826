// The only module that loads WildDuck's imap-core. imap-core is loaded by deep path, never the
// package root (which would start WildDuck), and only on first use, so importing this file has
// no side effects. Ingest uses its MIME indexer so that the ENVELOPE and BODYSTRUCTURE stored at
// ingest are exactly what imap-core serves later; the IMAP server (src/imap) uses its protocol
// engine, made read-only here once for the whole process.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { makeIndexerLinear, type IndexerClasses } from './linear-indexer.js';

/** A node of imap-core's parsed MIME tree (only the fields Coffer reads). */
export interface MimeNode {
  header: string[];
  parsedHeader: Record<string, unknown>;
  body?: Buffer | false;
  multipart?: string | false;
  boundary?: string | false;
  childNodes?: MimeNode[];
  message?: MimeNode;
  lineCount?: number;
  size?: number;
}

/** IMAP ENVELOPE / BODYSTRUCTURE as imap-core builds them: nested arrays of strings, Buffers, numbers, nulls. */
export type ImapStructure = unknown[];

interface MimeIndexer {
  parseMimeTree(raw: Buffer): MimeNode;
  createEnvelope(header: Record<string, unknown>): ImapStructure;
  BodyStructure: new (tree: MimeNode, options: { upperCaseKeys: boolean; skipContentLocation: boolean }) => { create(): ImapStructure };
}

let indexer: MimeIndexer | undefined;
const IMAP_CORE = '@zone-eu/wildduck/imap-core/lib';

const loaded = new Map<string, unknown>();

/** An imap-core module, loaded once: compile helpers run per FETCH response, resolution must not. */
function requireImapCore(path: string): unknown {
  let module = loaded.get(path);
  if (module === undefined) {
    // Without this flag WildDuck's config loader parses our argv (--config=...) and may exit.
    process.env.DISABLE_WILD_CONFIG = 'true';
    module = createRequire(import.meta.url)(`${IMAP_CORE}/${path}`) as unknown;
    loaded.set(path, module);
  }
  return module;
}

/**
 * The three modules imap-core's Indexer builds on, loaded directly: indexer.js itself also pulls in
 * HTML-to-text and charset tables that ingest never uses (slower start, more memory per worker).
 */
function loadIndexer(): MimeIndexer {
  if (indexer) return indexer;
  const parseMimeTree = requireImapCore('indexer/parse-mime-tree.js') as MimeIndexer['parseMimeTree'] & { MIMEParser: IndexerClasses['MIMEParser'] };
  const BodyStructure = requireImapCore('indexer/body-structure.js') as MimeIndexer['BodyStructure'] & IndexerClasses['BodyStructure'];
  const fromParser = createRequire(createRequire(import.meta.url).resolve(`${IMAP_CORE}/indexer/parse-mime-tree.js`));
  makeIndexerLinear({ MIMEParser: parseMimeTree.MIMEParser, BodyStructure }, fromParser('nodemailer/lib/addressparser') as Parameters<typeof makeIndexerLinear>[1]);
  indexer = {
    parseMimeTree,
    createEnvelope: requireImapCore('indexer/create-envelope.js') as MimeIndexer['createEnvelope'],
    BodyStructure,
  };
  return indexer;
}

export function parseMimeTree(raw: Buffer): MimeNode {
  return loadIndexer().parseMimeTree(raw);
}

/** Indexer.getEnvelope, exactly. */
export function buildEnvelope(tree: MimeNode): ImapStructure {
  return loadIndexer().createEnvelope(tree.parsedHeader ?? {});
}

/** Indexer.getBodyStructure, exactly: the full BODYSTRUCTURE with extension data. */
export function buildBodyStructure(tree: MimeNode): ImapStructure {
  const { BodyStructure } = loadIndexer();
  return new BodyStructure(tree, { upperCaseKeys: true, skipContentLocation: false }).create();
}

// --- the IMAP protocol engine ----------------------------------------------------------------------

/** A FETCH data item as imap-core parses it (commands/fetch.js). */
export interface FetchQueryItem {
  item: string;
  /** BODY[section]: '' for the whole message, '1.2' for a part. */
  path?: string;
  /** BODY[section]: 'content', 'header', 'text', 'mime', 'header.fields', ... */
  type?: string;
  partial?: { startFrom: number; maxLength: number };
  isLiteral?: boolean;
  original: { partial?: unknown[] } & Record<string, unknown>;
}

export interface FetchOptions {
  messages: number[];
  query: FetchQueryItem[];
  metadataOnly: boolean;
  markAsSeen: boolean;
  isUid: boolean;
  changedSince?: number | false;
}

export interface SelectedMailbox {
  mailbox: number;
  uidList: number[];
  modifyIndex: number;
  readOnly: boolean;
  path: string;
}

/** imap-core's per-connection session object (imap-connection.js _startSession). */
export interface ImapSession {
  id: string;
  remoteAddress: string;
  user?: { id: string; username: string };
  selected: SelectedMailbox | false;
  socket: Socket;
  writeStream: { write(data: unknown, done?: (err?: Error | null) => void): boolean };
  formatResponse(command: 'FETCH', uid: number, data: { query: FetchQueryItem[]; values: unknown[] }): unknown;
  getQueryResponse(query: FetchQueryItem[], message: Record<string, unknown>, options: { acceptUTF8Enabled: boolean }): unknown[];
  isUTF8Enabled(): boolean;
}

/** A mailbox as LIST and LSUB answers need it. */
export interface ListedMailbox {
  path: string;
  specialUse?: string;
  flags?: string[];
}

export interface MailboxInfo {
  _id: number;
  uidList: number[];
  uidValidity: number;
  uidNext: number;
  modifyIndex: number;
}

export interface StatusInfo {
  messages: number;
  uidNext: number;
  uidValidity: number;
  unseen: number;
  highestModseq: number;
}

/** A new message in a folder, or one taken out, as imap-core turns it into `* n EXISTS` or `* n EXPUNGE`. */
export interface MailboxUpdate {
  _id: string;
  command: 'EXISTS' | 'EXPUNGE';
  uid: number;
  modseq: number;
}

type Callback<T> = (err: Error | null, value?: T) => void;

/** How imap-core asks for updates of the selected mailbox (`server.notifier`). */
export interface ImapNotifier {
  addListener(session: ImapSession, listener: () => void): void;
  removeListener(session: ImapSession, listener: () => void): void;
  getUpdates(mailbox: number, modifyIndex: number, callback: Callback<MailboxUpdate[]>): void;
}

/** The hooks Coffer implements. Refusals are protocol codes (strings), failures errors. */
export interface ImapHooks {
  onAuth(login: { method: string; username: string; password: string }, session: ImapSession, callback: Callback<{ user: { id: string; username: string } } | Record<string, never>>): void;
  onList(query: string, session: ImapSession, callback: Callback<ListedMailbox[]>): void;
  onLsub(query: string, session: ImapSession, callback: Callback<ListedMailbox[]>): void;
  onSubscribe(path: string, session: ImapSession, callback: Callback<true | string>): void;
  onStatus(path: string, session: ImapSession, callback: Callback<StatusInfo | string>): void;
  onOpen(path: string, session: ImapSession, callback: Callback<MailboxInfo | string>): void;
  onFetch(mailbox: number, options: FetchOptions, session: ImapSession, callback: Callback<true | string>): void;
  onSearch(mailbox: number, options: { query: unknown[]; isUid: boolean }, session: ImapSession, callback: Callback<{ uidList: number[] | string }>): void;
  onExpunge(mailbox: number, options: unknown, session: ImapSession, callback: Callback<true>): void;
}

export interface ImapServerOptions {
  /** Implicit TLS (true) or plain with STARTTLS (false). */
  secure: boolean;
  key: string;
  cert: string;
  /** Warnings and errors of the protocol engine (it is never given content to log). */
  onEngineError: (err: Error, connectionId: string | undefined) => void;
  notifier: ImapNotifier;
  hooks: ImapHooks;
  idleTimeoutMs?: number;
}

/** The part of imap-core's connection Coffer touches: to say BYE on shutdown. */
export interface ImapConnection {
  id: string;
  send(line: string): void;
  close(): void;
}

export interface ImapServer {
  listen(port: number, host: string, callback: () => void): void;
  close(callback: () => void): void;
  on(event: 'error', listener: (err: Error & { code?: string }) => void): void;
  readonly server: { address(): unknown; on(event: 'connection', listener: (socket: Socket) => void): void };
  readonly connections: Set<ImapConnection>;
}

interface CommandModule {
  handler(this: { selected?: { readOnly: boolean } | false; send: (line: string) => void }, command: { command: string }, callback: (err: Error | null, response?: Record<string, unknown>) => void, next?: () => void): void;
}

const WRITE_COMMANDS = ['store', 'uid-store', 'append', 'copy', 'move', 'expunge', 'uid-expunge', 'create', 'delete', 'rename', 'setquota', 'unsubscribe'];
let readOnlyApplied = false;

/**
 * Makes imap-core's command table read-only, once per process. imap-core reports SELECT as
 * READ-WRITE and lets write commands reach hooks whose refusals carry no explanation; Coffer's
 * archive is never writable, so SELECT behaves as EXAMINE (RFC 3501 6.3.1: `[READ-ONLY]`) and
 * every write command is answered `NO [CANNOT]` with the reason, before any hook could act.
 */
function applyReadOnly(): void {
  if (readOnlyApplied) return;
  readOnlyApplied = true;
  const select = requireImapCore('commands/select.js') as CommandModule;
  const selectHandler = select.handler;
  select.handler = function (command, callback, next) {
    // RFC 3501 7.1: PERMANENTFLAGS lists the flags a client may change for good: none here.
    const send = this.send;
    this.send = (line) => send.call(this, line.startsWith('* OK [PERMANENTFLAGS') ? '* OK [PERMANENTFLAGS ()] Read-only archive' : line);
    selectHandler.call(
      this,
      command,
      (err, response) => {
        this.send = send;
        if (response?.code === 'READ-WRITE' && this.selected) {
          this.selected.readOnly = true;
          response.code = 'READ-ONLY';
        }
        callback(err, response);
      },
      next,
    );
  };
  for (const name of WRITE_COMMANDS) {
    const module = requireImapCore(`commands/${name}.js`) as CommandModule;
    module.handler = (command, callback) => {
      const verb = command.command.toUpperCase();
      const reason = verb === 'UNSUBSCRIBE' ? 'archive folders are always subscribed' : `${verb} would change it`;
      callback(null, { response: 'NO', code: 'CANNOT', message: `This archive is read-only: ${reason}` });
    };
  }
}

type ImapServerClass = new (options: Record<string, unknown>) => ImapServer & Partial<ImapHooks> & { notifier: ImapNotifier };

/** An imap-core server with Coffer's hooks, read-only, not yet listening. */
export function createImapServer(options: ImapServerOptions): ImapServer {
  applyReadOnly();
  const { IMAPServer } = requireImapCore('imap-server.js') as { IMAPServer: ImapServerClass };
  // imap-core logs commands and responses (message bytes, LOGIN arguments) at debug and info;
  // none of that may reach Coffer's log, so only its errors pass, without arguments.
  const quiet = (): void => undefined;
  const report = (data: unknown): void => {
    const { err, cid } = (data ?? {}) as { err?: unknown; cid?: string };
    if (err instanceof Error) options.onEngineError(err, cid);
  };
  const logger = { trace: quiet, debug: quiet, info: quiet, warn: report, error: report, fatal: report };
  const server = new IMAPServer({
    secure: options.secure,
    key: options.key,
    cert: options.cert,
    logger,
    skipFetchLog: true,
    // For implicit TLS imap-core asks this for every client that sends SNI (every client that
    // connects by host name) and, unset, fails the handshake. One certificate serves every name.
    SNICallback: (_request: unknown, done: (err: null) => void) => done(null),
    id: { name: 'Coffer' },
    closeTimeout: 1000,
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeout: options.idleTimeoutMs }),
  });
  server.notifier = options.notifier;
  Object.assign(server, options.hooks);
  // imap-core writes a command's untagged lines and its tagged reply separately; with Nagle's
  // algorithm the last small write waits ~40 ms for the client's delayed ACK (every SEARCH,
  // SELECT and LOGIN did). smtp-server disables it too.
  server.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  return server;
}


/**
 * A FETCH response as a stream: body sections come from imap-core's indexer as streams of known
 * length, which only its stream compiler can write. The connection pipes it to the socket and
 * takes the next response when it ends, so a slow client holds back the server (backpressure).
 */
export function compileResponseStream(response: unknown): NodeJS.ReadableStream {
  const handler = requireImapCore('handler/imap-handler.js') as { compileStream(response: unknown): NodeJS.ReadableStream };
  return handler.compileStream(response);
}

/** An untagged response without streams (metadata FETCH), compiled to its wire bytes without the final CRLF. */
export function compileResponse(response: unknown): Buffer {
  const handler = requireImapCore('handler/imap-handler.js') as { compiler(response: unknown): Buffer | string };
  const compiled = handler.compiler(response);
  return typeof compiled === 'string' ? Buffer.from(compiled, 'binary') : compiled;
}

/** imap-core's compiler for one response value, exactly as it would write it inside a response. */
export function compileValue(value: unknown): string {
  const handler = requireImapCore('handler/imap-handler.js') as { compiler(response: unknown): Buffer | string };
  const compiled = handler.compiler({ attributes: [value] });
  return typeof compiled === 'string' ? compiled : compiled.toString('binary');
}

/** INTERNALDATE as imap-core writes it ("05-Mar-2024 16:45:03 +0000"). */
export function formatInternalDate(date: Date): string {
  const tools = requireImapCore('imap-tools.js') as { formatInternalDate(date: Date): string };
  return tools.formatInternalDate(date);
}
