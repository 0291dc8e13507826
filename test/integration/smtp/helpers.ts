// Harness for SMTP integration tests: a real store in a temp dir, a real ingest pipeline, the
// SMTP component on 127.0.0.1:0 with a self-signed certificate, nodemailer as the client, and a
// raw line client (plain or TLS) for protocol abuse. Every wait is bounded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ExecutionContext } from 'ava';
import { testCertificate } from '../certificate.js';
import { createTransport } from 'nodemailer';
import { addressBookOf } from '../../../src/app.js';
import { parseConfigText, type Config } from '../../../src/config/index.js';
import { createIngestPipeline, type IngestPipeline } from '../../../src/ingest/pipeline.js';
import { createLogger, createSilentLogger, type Logger } from '../../../src/log/logger.js';
import { Writable } from 'node:stream';
import { createSmtpComponent, type SmtpComponent } from '../../../src/smtp/endpoint.js';
import { openStore, type ArchiveStore } from '../../../src/store/store.js';

const WAIT_MS = 15_000;

export const ARCHIVES_YAML = `
archives:
  - name: journal
  - name: journal2
  - name: alice
    address: alice@example.com
  - name: bob
    address: bob@example.com
    aliases: [robert@example.com]
`;

export function configFrom(dir: string, yaml: string, listen = '127.0.0.1:0'): Config {
  const file = join(dir, 'coffer.yaml');
  writeFileSync(file, yaml);
  const config = parseConfigText(yaml, { file, env: {} });
  // Port 0 is not valid in a config file (an administrator never means it); tests need it.
  return { ...config, smtp: { ...config.smtp, listen: [listen] } };
}

export interface Harness {
  dir: string;
  config: Config;
  store: ArchiveStore;
  pipeline: IngestPipeline;
  smtp: SmtpComponent;
  port: number;
  /** Every "archive/folder" that lists the message, sorted. */
  placesOf(sha: Buffer): Promise<string[]>;
  /** Number of stored messages (distinct contents). */
  messageCount(): Promise<number>;
}

export async function startHarness(t: ExecutionContext, smtpYaml: string, options: { logger?: Logger; listen?: string } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-smtp-'));
  const config = configFrom(dir, `dataDir: ${join(dir, 'data')}\n${ARCHIVES_YAML}\n${smtpYaml}`, options.listen);
  const store = await openStore({ dataDir: config.dataDir, encryptionKey: null });
  const pipeline = createIngestPipeline({ store, addressBook: addressBookOf(config), folders: config.folders, encryptionKey: null, workers: 1 });
  const smtp = createSmtpComponent({ config, ingest: pipeline, logger: options.logger ?? createSilentLogger(), certificate: await testCertificate() });
  await smtp.start();
  t.teardown(async () => {
    await smtp.stop();
    await pipeline.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const port = smtp.addresses()[0]!.port;
  return {
    dir,
    config,
    store,
    pipeline,
    smtp,
    port,
    async placesOf(sha) {
      const names = new Map((await store.listArchives()).map((archive) => [archive.id, archive.name]));
      const places: string[] = [];
      for (const listing of await store.listingsOf(sha)) {
        const folder = await store.getFolderById(listing.folderId);
        if (folder) places.push(`${names.get(folder.archiveId)}/${folder.path.join('/')}`);
      }
      return places.sort();
    },
    async messageCount() {
      return (await store.counters()).messages;
    },
  };
}

export interface SendOptions {
  from: string;
  to: string[];
  raw: Buffer;
  auth?: { user: string; pass: string };
  /** false: plain text session (no STARTTLS). */
  tls?: boolean;
}

/** Sends with nodemailer over STARTTLS; resolves with nodemailer's info, rejects with its error. */
export async function send(port: number, options: SendOptions): Promise<{ response: string; accepted: string[]; rejected: string[] }> {
  const useTls = options.tls ?? true;
  const transport = createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: !useTls,
    requireTLS: useTls,
    tls: { rejectUnauthorized: false },
    connectionTimeout: WAIT_MS,
    greetingTimeout: WAIT_MS,
    socketTimeout: WAIT_MS,
    ...(options.auth ? { auth: options.auth } : {}),
  });
  try {
    const info = await transport.sendMail({ envelope: { from: options.from, to: options.to }, raw: options.raw });
    return { response: info.response, accepted: info.accepted.map(String), rejected: info.rejected.map(String) };
  } finally {
    transport.close();
  }
}

export function message(fields: { from?: string; to?: string; cc?: string; subject?: string; body?: string; extra?: string } = {}): Buffer {
  const lines = [
    `From: ${fields.from ?? 'Carol <carol@elsewhere.org>'}`,
    `To: ${fields.to ?? 'Alice <alice@example.com>'}`,
    ...(fields.cc ? [`Cc: ${fields.cc}`] : []),
    `Subject: ${fields.subject ?? 'Hello'}`,
    'Date: Mon, 01 Jan 2024 10:00:00 +0000',
    `Message-ID: <${Math.random().toString(36).slice(2)}@elsewhere.org>`,
    ...(fields.extra ? [fields.extra] : []),
    '',
    fields.body ?? 'Hello there.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

export function sha256(raw: Buffer): Promise<Buffer> {
  return import('node:crypto').then(({ createHash }) => createHash('sha256').update(raw).digest());
}

/** A line-level SMTP client for protocol tests: raw writes, whole replies, optional STARTTLS. */
export class RawClient {
  private buffer = '';
  private readonly replies: string[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(private socket: Socket | TLSSocket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.attach(socket);
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.parse();
    });
    socket.on('end', () => {
      this.ended = true;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  private parse(): void {
    // A reply is one or more lines "ddd-text" ending with "ddd text".
    for (;;) {
      const match = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (!match) break;
      this.replies.push(match[0].trimEnd());
      this.buffer = this.buffer.slice(match[0].length);
    }
    this.waiter?.();
  }

  /** The next whole reply; rejects after a bounded wait or if the server hung up first. */
  async read(): Promise<string> {
    const deadline = Date.now() + WAIT_MS;
    while (this.replies.length === 0) {
      if (this.ended) throw new Error(`connection closed while waiting for a reply (buffer: ${JSON.stringify(this.buffer.slice(0, 200))})`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error('timed out waiting for a reply');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.replies.shift()!;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  /** STARTTLS, then the TLS handshake on the same socket. */
  async startTls(): Promise<string> {
    const reply = await this.command('STARTTLS');
    if (!reply.startsWith('220')) return reply;
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('end');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    secure.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return reply;
  }

  /** Resolves when the server closes the connection; rejects after a bounded wait. */
  async waitClosed(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('connection still open')), WAIT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Connects, reads the banner and says EHLO; returns the client and the EHLO reply. */
export async function greet(port: number): Promise<{ client: RawClient; banner: string; ehlo: string }> {
  const client = await RawClient.connect(port);
  const banner = await client.read();
  const ehlo = await client.command('EHLO client.test');
  return { client, banner, ehlo };
}

/** A real pino logger writing into memory; `text()` is everything logged, `lines()` parsed. */
export function captureLogger(): { logger: Logger; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const text = (): string => chunks.join('');
  return {
    logger: createLogger('debug', sink),
    text,
    lines: () => text().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
