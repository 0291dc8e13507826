// Helpers for the end-to-end tests: run the real `coffer` CLI from source as a child process
// against a real LevelDB store in a temporary directory, write temporary configs and fixtures,
// and open the store directly with `level` (only after the CLI has exited) to inspect or damage it.
// Nothing here mocks Coffer: every assertion goes through the command line or the bytes on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { ExecutionContext } from 'ava';
import { Level } from 'level';

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

export async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
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
  /** The result once the daemon has exited, else undefined. */
  result: () => RunResult | undefined;
  /** Why it exited (code and output), for waitForPort, else undefined. */
  exitReason: () => string | undefined;
}

/** `coffer serve --config <file>`, killed at teardown if the test did not stop it. */
export function startDaemon(t: ExecutionContext, config: string): RunningDaemon {
  const child = spawnCoffer(['serve'], { config });
  let result: RunResult | undefined;
  const done = finished(child).then((r) => (result = r));
  t.teardown(() => {
    if (result === undefined) child.kill('SIGKILL');
  });
  return {
    child,
    done,
    result: () => result,
    exitReason: () => (result ? `code ${String(result.code)}: ${result.stderr}${result.stdout.toString().slice(-2000)}` : undefined),
  };
}
