// Helpers for the end-to-end tests: run the real `coffer` CLI from source as a child process
// against a real LevelDB store in a temporary directory, write temporary configs and fixtures,
// and open the store directly with `level` (only after the CLI has exited) to inspect or damage it.
// Nothing here mocks Coffer: every assertion goes through the command line or the bytes on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { ExecutionContext } from 'ava';
import { Level } from 'level';
import { hashPassword } from '../../src/auth/password.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(REPO, 'src', 'main.ts');

export interface RunOptions {
  /** $COFFER_DATA for the child; omitted when the config names the data directory. */
  dataDir?: string;
  /** Passed as `--config <file>` after the arguments. */
  config?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

function childEnv(dataDir: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The test decides where config and data come from, never the caller's shell.
  delete env.COFFER_CONFIG;
  delete env.COFFER_DATA;
  if (dataDir !== undefined) env.COFFER_DATA = dataDir;
  return env;
}

function argsOf(args: readonly string[], options: RunOptions): string[] {
  return ['--import', 'tsx', MAIN, ...args, ...(options.config === undefined ? [] : ['--config', options.config])];
}

/** Starts the CLI without waiting for it (the crash test kills it mid-way). */
export function spawnCoffer(args: readonly string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, argsOf(args, options), { cwd: REPO, env: childEnv(options.dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Collects a child's output and waits for it to end. */
export function finished(child: ChildProcess): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

export function runCoffer(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return finished(spawnCoffer(args, options));
}

/** Runs a command with --json; fails the test (with stderr) unless it exits with `expectedCode`. */
export async function cofferJson<T>(t: ExecutionContext, args: readonly string[], options: RunOptions, expectedCode = 0): Promise<T> {
  const result = await runCoffer([...args, '--json'], options);
  if (result.code !== expectedCode) {
    t.fail(`coffer ${args.join(' ')} exited ${String(result.code)} (signal ${String(result.signal)}), expected ${expectedCode}\nstderr: ${result.stderr}\nstdout: ${result.stdout.toString('utf8').slice(0, 2000)}`);
  }
  return JSON.parse(result.stdout.toString('utf8')) as T;
}

/** What tempDir and startDaemon need of a test: a test's `t`, or a registry a `test.after.always` hook drains. */
export type Teardown = Pick<ExecutionContext, 'teardown'>;

export async function tempDir(t: Teardown, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `coffer-e2e-${prefix}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes files (name → content) into dir, creating parent directories. */
export async function writeFiles(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A small clean RFC 5322 message; `n` makes it unique. */
export function cleanMessage(n: number, extra: { subject?: string; body?: string } = {}): string {
  return [
    `From: Sender ${n} <sender${n}@example.com>`,
    'To: Alice <alice@example.com>',
    `Subject: ${extra.subject ?? `Test message ${n}`}`,
    `Date: Mon, 1 Jan 2024 10:${String(n % 60).padStart(2, '0')}:00 +0000`,
    `Message-ID: <msg-${n}@example.com>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    extra.body ?? `Hello, this is message number ${n}.`,
    '',
  ].join('\r\n');
}

/** Deterministic pseudo-random bytes (xorshift32), so a failing run can be reproduced. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// --- summaries printed with --json ---------------------------------------------------------------
// Declared here rather than imported from src/: they are the CLI's published JSON contract, and a
// change in src/ that alters them must fail these tests instead of silently retyping them.

export interface ImportSummary {
  archive: string;
  folder: string;
  archived: number;
  alreadyArchived: number;
  unparseable: number;
  failed: number;
  failures: { origin: string; error: string }[];
  flagged: { origin: string; problems: string[] }[];
  bytes: number;
  seconds: number;
}

export interface StatsReport {
  archives: { name: string; messages: number; bytes: number; folders: number }[];
  messages: number;
  bytes: number;
  storedBytes: number;
  index: { messages: number; listings: number; segments: number };
}

export interface FoldersReport {
  archive: string;
  folders: { path: string; messages: number; bytes: number; uidValidity: number; uidNext: number }[];
}

export interface SearchJson {
  total: number;
  results: { archive: string; folder: string; uid: number; date: string | null; from: string; subject: string }[];
}

export interface VerifyProblem {
  sha?: string;
  archive?: string;
  folder?: string;
  uid?: number;
  detail: string;
}

export interface VerifyJson {
  ok: boolean;
  messages: number;
  listings: number;
  folders: number;
  archives: number;
  problems: VerifyProblem[];
}

export interface ShowJson {
  sha256: string;
  size: number;
  subject: string;
  from: string[];
  to: string[];
  messageId: string | null;
  origin: string;
  attachments: { name: string | null; contentType: string; size: number }[];
  problems: string[];
}

/** `coffer show --raw`: the archived bytes, failing the test on a non-zero exit. */
export async function showRaw(t: ExecutionContext, archive: string, folder: string, uid: number, options: RunOptions): Promise<Buffer> {
  const result = await runCoffer(['show', archive, folder, String(uid), '--raw'], options);
  if (result.code !== 0) t.fail(`show --raw ${archive} ${folder} ${uid} exited ${String(result.code)}: ${result.stderr}`);
  return result.stdout;
}

/** A refused command: the expected exit code, nothing on stdout, a message and no stack trace on stderr. */
export function assertRefused(t: ExecutionContext, result: RunResult, code: number, pattern: RegExp): void {
  t.is(result.code, code, `exit code; stderr: ${result.stderr}`);
  t.is(result.stdout.length, 0, `nothing on stdout, got: ${result.stdout.toString('utf8').slice(0, 200)}`);
  t.regex(result.stderr, pattern);
  t.notRegex(result.stderr, /unexpected error|\n\s+at /, 'no stack trace');
}

/** True when a problem names this archive/folder/uid, in its fields or in its text. */
export function namesListing(problem: VerifyProblem, archive: string, folder: string, uid: number): boolean {
  return (problem.archive === archive && problem.folder === folder && problem.uid === uid) || problem.detail.includes(`${archive}/${folder} uid ${uid}`);
}

// --- the store on disk -------------------------------------------------------------------------

export type RawDb = Level<Buffer, Buffer>;

/** Opens <dataDir>/store directly; only while no coffer process runs on it. Closed at teardown too. */
export async function openRawStore(t: ExecutionContext, dataDir: string): Promise<RawDb> {
  const db = new Level<Buffer, Buffer>(join(dataDir, 'store'), { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false });
  await db.open();
  t.teardown(async () => {
    if (db.status === 'open') await db.close();
  });
  return db;
}

export function sublevel(db: RawDb, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

/** Total bytes of LevelDB's write-ahead logs and tables: grows as batches are committed. */
export async function storeBytesOnDisk(dataDir: string): Promise<number> {
  const dir = join(dataDir, 'store');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let total = 0;
  for (const name of names) {
    if (!name.endsWith('.log') && !name.endsWith('.ldb')) continue;
    try {
      total += (await stat(join(dir, name))).size;
    } catch {
      // compacted away between readdir and stat
    }
  }
  return total;
}

const DECOMPRESSORS: ((input: Buffer) => Buffer)[] = [
  (input) => inflateRawSync(input, { maxOutputLength: 16 << 20 }),
  (input) => inflateSync(input, { maxOutputLength: 16 << 20 }),
  (input) => gunzipSync(input, { maxOutputLength: 16 << 20 }),
  (input) => brotliDecompressSync(input, { maxOutputLength: 16 << 20 }),
];

/**
 * Whether a stored value gives away `marker`: as plain bytes, or once decompressed (deflate, zlib,
 * gzip or Brotli) from any offset near its start, so a value that is merely compressed counts as
 * readable whatever its header layout.
 */
export function revealsPlaintext(value: Buffer, marker: string): boolean {
  if (value.includes(marker)) return true;
  for (let offset = 0; offset <= Math.min(64, value.length - 1); offset++) {
    for (const decompress of DECOMPRESSORS) {
      try {
        if (decompress(value.subarray(offset)).includes(marker)) return true;
      } catch {
        // not a stream of this kind at this offset
      }
    }
  }
  return false;
}

export function yamlString(value: string): string {
  return JSON.stringify(value);
}

// --- a running daemon ----------------------------------------------------------------------------

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback port nobody listens on right now (the config refuses port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolvePromise);
  });
  const address = server.address();
  await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

/** Polls (at most ~30 s) until the port accepts connections; fails early once `exited` says why. */
export async function waitForPort(port: number, what: string, exited: () => string | undefined = () => undefined): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const why = exited();
    if (why !== undefined) throw new Error(`${what} exited before listening: ${why}`);
    if (await accepts(port)) return;
    await sleep(100);
  }
  throw new Error(`${what}: nothing listens on 127.0.0.1:${port} after 30 s`);
}

export interface RunningDaemon {
  child: ChildProcess;
  done: Promise<RunResult>;
  /** What the daemon has written to stdout so far (its JSON log), while it runs. */
  stdout: () => string;
  /** The result once the daemon has exited, else undefined. */
  result: () => RunResult | undefined;
  /** Why it exited (code and output), for waitForPort, else undefined. */
  exitReason: () => string | undefined;
}

/** `coffer serve --config <file>`, killed at teardown if the test did not stop it. */
export function startDaemon(t: Teardown, config: string): RunningDaemon {
  const child = spawnCoffer(['serve'], { config });
  let result: RunResult | undefined;
  const done = finished(child).then((r) => (result = r));
  const out: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  t.teardown(() => {
    if (result === undefined) child.kill('SIGKILL');
  });
  return {
    child,
    done,
    stdout: () => Buffer.concat(out).toString('utf8'),
    result: () => result,
    exitReason: () => (result ? `code ${String(result.code)}: ${result.stderr}${result.stdout.toString().slice(-2000)}` : undefined),
  };
}

/** Polls `check` every `intervalMs` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** The JSON lines of a daemon's stdout (pino), skipping anything that is not a JSON object. */
export function logLines(stdout: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the read: not a log record yet
    }
  }
  return lines;
}

// --- external programs ---------------------------------------------------------------------------

export interface ProgramResult extends RunResult {
  /** True when the program was killed because it outlived its time limit. */
  timedOut: boolean;
}

/** Runs a program (mbsync, python3, ...) to completion, killing it after `timeoutMs`. */
export function runProgram(command: string, args: readonly string[], options: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<ProgramResult> {
  const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  return finished(child).then(
    (result) => {
      clearTimeout(timer);
      return { ...result, timedOut };
    },
    (err: unknown) => {
      clearTimeout(timer);
      throw err;
    },
  );
}

// --- IMAP ------------------------------------------------------------------------------------------

/** Fast scrypt parameters for test users: the tests log in often (production uses the defaults). */
export function testPasswordHash(password: string): Promise<string> {
  return hashPassword(password, { N: 1024, r: 8, p: 1 });
}

export interface ImapReply {
  /** OK, NO or BAD. */
  status: string;
  /** What the tagged response's [brackets] hold ("READ-ONLY", "CANNOT", ...), '' when none. */
  code: string;
  /** The tagged line without its CRLF. */
  line: string;
  /** Untagged responses and continuation requests that came before it (literals included, latin1, CRLF removed). */
  untagged: string[];
  /** Every response for this command as received, bytes exact. */
  raw: Buffer[];
}

/** Where a complete IMAP response (literals included) ends in `buffer`, or 0 when it is not complete yet. */
function responseEnd(buffer: Buffer): number {
  let position = 0;
  for (;;) {
    const eol = buffer.indexOf('\r\n', position);
    if (eol < 0) return 0;
    const literal = /\{(\d+)\+?\}$/.exec(buffer.toString('latin1', position, eol));
    if (!literal) return eol + 2;
    position = eol + 2 + Number(literal[1]);
    if (position > buffer.length) return 0;
  }
}

export function imapQuote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export interface ImapConnectOptions {
  /** Implicit TLS (the tls listener) or plain text (the starttls listener). */
  tls: boolean;
  /** SNI host name sent in the TLS handshake (Node sends none for an IP address). */
  servername?: string;
  /** Source address, e.g. 127.0.0.2, so per-address login throttling can be told apart. */
  localAddress?: string;
  timeoutMs?: number;
}

/**
 * A raw IMAP client for tests that need exact responses: tagged commands, literals, STARTTLS,
 * every read bounded by a timeout. Certificates are not verified (the daemon's is self-signed).
 */
export class ImapTestClient {
  greeting = '';
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended = false;
  private tags = 0;
  private closedPromise: Promise<void> = Promise.resolve();

  private constructor(
    private socket: Socket | TLSSocket,
    private readonly timeoutMs: number,
  ) {
    this.attach(socket);
  }

  static async connect(port: number, options: ImapConnectOptions): Promise<ImapTestClient> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const target = { host: '127.0.0.1', port, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) };
    const socket = options.tls
      ? connectTls({ ...target, rejectUnauthorized: false, ...(options.servername === undefined ? {} : { servername: options.servername }) })
      : connect(target);
    await ImapTestClient.established(socket, options.tls ? 'secureConnect' : 'connect', timeoutMs);
    const client = new ImapTestClient(socket, timeoutMs);
    client.greeting = (await client.next()).toString('latin1').trimEnd();
    return client;
  }

  private static established(socket: Socket, event: 'connect' | 'secureConnect', timeoutMs: number): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no ${event} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once(event, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolvePromise();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    // A reset after BYE or a failed handshake: the reader sees `ended` and says what it had.
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolvePromise) =>
      socket.once('close', () => {
        this.ended = true;
        this.wake?.();
        resolvePromise();
      }),
    );
  }

  /** Resolves when the server has closed the connection (bounded by the caller). */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  /** The next complete response: a tagged or untagged line with its literals, or a continuation request. */
  async next(timeoutMs = this.timeoutMs): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = responseEnd(this.buffer);
      if (end > 0) {
        const response = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end);
        return response;
      }
      const pending = JSON.stringify(this.buffer.toString('latin1').slice(0, 300));
      if (this.ended) throw new Error(`the server closed the connection; unread: ${pending}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete IMAP response within ${timeoutMs} ms; unread: ${pending}`);
      await new Promise<void>((resolvePromise) => {
        const timer = setTimeout(resolvePromise, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolvePromise();
        };
      });
    }
  }

  /** Reads responses until one matches `pattern` (e.g. an unsolicited `* BYE`). */
  async waitFor(pattern: RegExp, timeoutMs = this.timeoutMs): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = (await this.next(Math.max(1, deadline - Date.now()))).toString('latin1');
      if (pattern.test(response)) return response;
    }
  }

  /**
   * Sends a tagged command and reads until its tagged reply. With `literal`, the command must end
   * with `{<length>}`: the literal is sent after the server's continuation request (a server that
   * answers the command instead of asking for the literal gets nothing more).
   */
  async command(text: string, options: { literal?: Buffer; timeoutMs?: number } = {}): Promise<ImapReply> {
    const tag = `T${++this.tags}`;
    this.socket.write(`${tag} ${text}\r\n`);
    let literal = options.literal;
    const untagged: string[] = [];
    const raw: Buffer[] = [];
    for (;;) {
      const response = await this.next(options.timeoutMs);
      raw.push(response);
      const text = response.toString('latin1').replace(/\r\n$/, '');
      if (text.startsWith(`${tag} `)) {
        const parsed = /^\S+ (\S+)(?: \[([^\]]*)\])?/.exec(text);
        return { status: parsed?.[1] ?? '', code: parsed?.[2] ?? '', line: text, untagged, raw };
      }
      if (literal !== undefined && text.startsWith('+')) {
        this.socket.write(Buffer.concat([literal, Buffer.from('\r\n')]));
        literal = undefined;
        continue;
      }
      untagged.push(text);
    }
  }

  async login(user: string, password: string): Promise<ImapReply> {
    return this.command(`LOGIN ${imapQuote(user)} ${imapQuote(password)}`);
  }

  /** STARTTLS, then the TLS handshake on the same socket. */
  async starttls(): Promise<ImapReply> {
    const reply = await this.command('STARTTLS');
    if (reply.status !== 'OK') return reply;
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = connectTls({ socket: plain, rejectUnauthorized: false });
    await ImapTestClient.established(secure, 'secureConnect', this.timeoutMs);
    this.attach(secure);
    return reply;
  }

  /** LIST "" "*": each mailbox's name (as sent, modified UTF-7) and attributes. */
  async list(): Promise<{ reply: ImapReply; mailboxes: { name: string; flags: string[] }[] }> {
    const reply = await this.command('LIST "" "*"');
    const mailboxes = reply.untagged.flatMap((line) => {
      const match = /^\* LIST \(([^)]*)\) (?:"[^"]*"|NIL) (?:"((?:[^"\\]|\\.)*)"|(\S+))$/.exec(line);
      if (!match) return [];
      const name = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
      return [{ name, flags: match[1] ? match[1].split(' ') : [] }];
    });
    return { reply, mailboxes };
  }

  /** LOGOUT if still connected, then closes the socket. */
  async close(): Promise<void> {
    if (!this.ended) await this.command('LOGOUT', { timeoutMs: 2000 }).catch(() => undefined);
    this.socket.destroy();
  }
}
