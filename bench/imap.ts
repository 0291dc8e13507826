// IMAP benchmark (issue 5): Coffer's read-only IMAP server (`coffer serve`, built CLI, from a
// snapshot of dist/) side by side with Dovecot (Debian dovecot-imapd, an instance of our own on
// loopback, Maildir) in the same run, on one folder holding the whole SpamAssassin corpus (6,046
// messages), both over implicit TLS with a self-signed certificate. Measures, with a minimal raw
// IMAP client (node:tls; literals counted, not parsed, so client-side work stays small):
//   1. EXAMINE INBOX, then `UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)`: median
//      over fresh sessions (the first, cold one reported apart and used to check the answers);
//   2. `UID FETCH 1:* BODY.PEEK[]`: wall time, MB/s of literal bytes, messages received;
//   3. `UID SEARCH TEXT <word>` for a common, a rare and an absent word: hits, p50/p95;
//   4. N (100) sessions logged in, INBOX selected, in IDLE: the servers' resident memory.
// Prints a markdown table and writes bench/results/imap.json.
// CLI: node --import=tsx bench/imap.ts [--reps N] [--downloads N] [--runs R] [--sessions N]

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { accepts, benchOptions, cached, freePort, numberOption, parseJson, percentile } from './common.js';
import { writeMaildir, writeMbox, type MaildirInfo } from './corpus.js';
import { cofferNodeFlags, machine, machineBusySeconds, ROOT, round, snapshotDist, waitIdle } from './machine.js';

const USER = 'bench';
const PASSWORD = 'password';
/** The user Dovecot's mail processes run as (it refuses root); it must own the Maildir and indexes. */
const DOVECOT_MAIL_USER = 'nobody';
const DOVECOT_MAIL_GROUP = 'nogroup';
const METADATA_ITEMS = '(UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)';
/** Issue 5's targets. */
const TARGETS = { fetchRatio: 1.0, downloadRatio: 1.0, searchMs: 50, idleSessions: 100, idleRssMB: 300 };

interface Options {
  reps: number;
  downloads: number;
  runs: number;
  queryBudgetSeconds: number;
  words: string[];
  sessions: number;
  skipCoffer: boolean;
  skipDovecot: boolean;
  main: string | undefined;
  work: string;
  out: string;
  waitIdleSeconds: number;
  timeoutSeconds: number;
}

function parseOptions(argv: string[]): Options {
  const values = benchOptions(
    argv,
    {
      reps: { type: 'string' },
      downloads: { type: 'string' },
      runs: { type: 'string' },
      'query-budget': { type: 'string' },
      words: { type: 'string' },
      sessions: { type: 'string' },
      'skip-coffer': { type: 'boolean' },
      'skip-dovecot': { type: 'boolean' },
      main: { type: 'string' },
      work: { type: 'string' },
      out: { type: 'string' },
      'wait-idle': { type: 'string' },
      timeout: { type: 'string' },
    },
    'usage: node --import=tsx bench/imap.ts [--reps N] [--downloads N] [--runs R] [--query-budget S]\n' +
      '                                        [--words w1,w2,w3] [--sessions N] [--skip-coffer] [--skip-dovecot]\n' +
      '                                        [--main dist/main.js] [--work DIR] [--out FILE] [--wait-idle S]\n' +
      '                                        [--timeout S]\n',
  );
  const options: Options = {
    reps: numberOption(values.reps, 7),
    downloads: numberOption(values.downloads, 3),
    runs: numberOption(values.runs, 30),
    queryBudgetSeconds: numberOption(values['query-budget'], 60),
    // A common word (~1,470 messages), a rare one (5) and one in no message of the corpus.
    words: (values.words ?? 'free,astrophysics,qwzkvbxq').split(',').filter((w) => w !== ''),
    sessions: numberOption(values.sessions, TARGETS.idleSessions),
    skipCoffer: values['skip-coffer'] === true,
    skipDovecot: values['skip-dovecot'] === true,
    main: values.main === undefined ? undefined : resolve(values.main),
    work: resolve(values.work ?? join(ROOT, 'bench', '.work')),
    out: resolve(values.out ?? join(ROOT, 'bench', 'results', 'imap.json')),
    waitIdleSeconds: numberOption(values['wait-idle'], 120),
    timeoutSeconds: numberOption(values.timeout, 600),
  };
  for (const key of ['reps', 'downloads', 'runs'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) throw new Error(`--${key} needs a positive integer`);
  }
  if (!Number.isInteger(options.sessions) || options.sessions < 0) throw new Error('--sessions needs an integer ≥ 0');
  if (options.words.some((w) => !/^[A-Za-z0-9]+$/.test(w))) throw new Error('--words: letters and digits only (sent as atoms)');
  return options;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- a minimal IMAP client -----------------------------------------------------------------------

/** A logical response line: text segments, each followed by the literal it announced (`{n}`). */
type Part = string | Buffer;

interface CommandOptions {
  /** Keep every response line with its literals (for checks; parse after the clock stops). */
  capture?: boolean;
  /** Keep the literals' bytes (zero-copy slices of the received chunks), one list per literal. */
  keepLiterals?: boolean;
}

export interface CommandResult {
  tag: string;
  /** OK, NO or BAD, and the whole tagged line. */
  status: string;
  text: string;
  /** From the write of the command to the end of its tagged completion. */
  ms: number;
  /** Bytes received (decrypted) in that time, untagged responses and literals included. */
  bytes: number;
  literalBytes: number;
  literalSizes: number[];
  untagged: number;
  /** Untagged `* n FETCH` responses. */
  fetches: number;
  /**
   * Lines that are neither untagged (`*`), continuation (`+`) nor tagged: bytes outside any
   * response, i.e. a literal that announced fewer bytes than the server sent.
   */
  stray: number;
  lines: Part[][];
  literals: Buffer[][];
}

interface Pending extends CommandResult {
  options: CommandOptions;
  started: number;
  resolve: (result: CommandResult) => void;
  reject: (error: Error) => void;
  /** IDLE: called on the continuation request; the tagged completion comes after DONE. */
  onContinuation?: () => void;
  timer: NodeJS.Timeout;
}

const FETCH_LINE = /^\* \d+ FETCH /;

/**
 * One IMAP connection over TLS: sends a tagged command and reads until its tagged completion. It
 * splits the stream into lines, and a line ending in `{n}` (or `{n+}`) announces n bytes of
 * literal that are skipped (counted) without looking for line ends in them, so a message body
 * that contains "A1 OK" cannot end a read early. Only the first text segment of each response
 * line is turned into a string (to recognise the tag); everything else stays bytes unless the
 * command asked to capture.
 */
export class ImapClient {
  private carry: Buffer[] = [];
  private literalLeft = 0;
  private literalSize = 0;
  private literalPieces: Buffer[] | undefined;
  private first: string | undefined;
  private line: Part[] = [];
  private pending: Pending | undefined;
  private greeting: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;
  private seq = 0;
  private failure: Error | undefined;

  private constructor(
    readonly socket: TLSSocket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    const fail = (error: Error): void => {
      this.failure ??= error;
      this.pending?.reject(error);
      this.greeting?.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Connects with implicit TLS (any certificate) and waits for the greeting. */
  static async connect(port: number, timeoutMs = 60_000): Promise<{ client: ImapClient; greeting: string; ms: number }> {
    const started = performance.now();
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.setNoDelay(true);
    const client = new ImapClient(socket, timeoutMs);
    const greeting = await new Promise<string>((resolveGreeting, reject) => {
      const timer = setTimeout(() => reject(new Error('no greeting')), timeoutMs);
      client.greeting = {
        resolve: (line) => {
          clearTimeout(timer);
          resolveGreeting(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
    client.greeting = undefined;
    return { client, greeting, ms: performance.now() - started };
  }

  /** Protocol and cipher negotiated, e.g. `TLSv1.3 TLS_AES_256_GCM_SHA384`. */
  tlsInfo(): string {
    return `${this.socket.getProtocol() ?? '?'} ${this.socket.getCipher().standardName}`;
  }

  command(text: string, options: CommandOptions = {}): Promise<CommandResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pending !== undefined) return Promise.reject(new Error('a command is already running'));
    const tag = `A${++this.seq}`;
    return new Promise<CommandResult>((resolveCommand, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${tag} ${text}: no completion after ${this.timeoutMs / 1000} s`));
        this.socket.destroy();
      }, this.timeoutMs);
      this.pending = {
        tag,
        status: '',
        text: '',
        ms: 0,
        bytes: 0,
        literalBytes: 0,
        literalSizes: [],
        untagged: 0,
        fetches: 0,
        stray: 0,
        lines: [],
        literals: [],
        options,
        started: performance.now(),
        resolve: (result) => {
          clearTimeout(timer);
          resolveCommand(result);
        },
        reject: (error) => {
          clearTimeout(timer);
          this.pending = undefined;
          reject(error);
        },
        timer,
      };
      this.socket.write(`${tag} ${text}\r\n`);
    });
  }

  /** Sends IDLE and resolves on the continuation request; `done()` ends it. */
  async idle(): Promise<{ done: () => Promise<CommandResult> }> {
    let continued!: () => void;
    const continuation = new Promise<void>((r) => {
      continued = r;
    });
    const completion = this.command('IDLE');
    const pending = this.pending;
    if (pending === undefined) throw new Error('IDLE was not sent');
    pending.onContinuation = continued;
    await Promise.race([continuation, completion.then((r) => Promise.reject(new Error(`IDLE refused: ${r.text}`)))]);
    return {
      done: () => {
        this.socket.write('DONE\r\n');
        return completion;
      },
    };
  }

  async logout(): Promise<void> {
    try {
      await this.command('LOGOUT');
    } catch {
      // the server may close first
    }
    this.socket.destroy();
  }

  private feed(chunk: Buffer): void {
    const pending = this.pending;
    if (pending !== undefined) pending.bytes += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, chunk.length - pos);
        this.literalPieces?.push(chunk.subarray(pos, pos + take));
        this.literalLeft -= take;
        pos += take;
        if (this.literalLeft === 0) this.endLiteral();
        continue;
      }
      const nl = chunk.indexOf(0x0a, pos);
      if (nl === -1) {
        this.carry.push(chunk.subarray(pos));
        break;
      }
      let segment = chunk.subarray(pos, nl + 1);
      if (this.carry.length > 0) {
        this.carry.push(segment);
        segment = Buffer.concat(this.carry);
        this.carry = [];
      }
      pos = nl + 1;
      this.segment(segment);
    }
  }

  private segment(segment: Buffer): void {
    let end = segment.length - 1;
    if (end > 0 && segment[end - 1] === 0x0d) end--;
    const text = segment.toString('latin1', 0, end);
    const pending = this.pending;
    this.first ??= text;
    if (pending?.options.capture === true) this.line.push(text);
    if (text.endsWith('}')) {
      const open = text.lastIndexOf('{');
      const size = open === -1 ? Number.NaN : Number(text.slice(open + 1, text.endsWith('+}') ? -2 : -1));
      if (Number.isInteger(size) && size >= 0) {
        this.literalSize = size;
        this.literalLeft = size;
        const keep = pending !== undefined && (pending.options.capture === true || pending.options.keepLiterals === true);
        this.literalPieces = keep ? [] : undefined;
        if (size === 0) this.endLiteral();
        return;
      }
    }
    this.endLine();
  }

  private endLiteral(): void {
    const pending = this.pending;
    if (pending !== undefined) {
      pending.literalBytes += this.literalSize;
      pending.literalSizes.push(this.literalSize);
      const pieces = this.literalPieces ?? [];
      if (pending.options.keepLiterals === true) pending.literals.push(pieces);
      if (pending.options.capture === true) this.line.push(Buffer.concat(pieces));
    }
    this.literalPieces = undefined;
  }

  private endLine(): void {
    const first = this.first ?? '';
    const line = this.line;
    this.first = undefined;
    this.line = [];
    const pending = this.pending;
    if (this.greeting !== undefined && pending === undefined) {
      this.greeting.resolve(first);
      return;
    }
    if (pending === undefined) return; // unsolicited (e.g. "* OK Still here" while idle and done)
    if (first.startsWith('+')) {
      pending.onContinuation?.();
      return;
    }
    if (first.startsWith('* ')) {
      pending.untagged++;
      if (FETCH_LINE.test(first)) pending.fetches++;
      if (pending.options.capture === true) pending.lines.push(line);
      return;
    }
    if (!first.startsWith(`${pending.tag} `)) {
      pending.stray++;
      return;
    }
    this.pending = undefined;
    pending.ms = performance.now() - pending.started;
    pending.text = first;
    pending.status = first.slice(pending.tag.length + 1).split(' ', 1)[0] ?? '';
    pending.resolve({
      tag: pending.tag,
      status: pending.status,
      text: pending.text,
      ms: pending.ms,
      bytes: pending.bytes,
      literalBytes: pending.literalBytes,
      literalSizes: pending.literalSizes,
      untagged: pending.untagged,
      fetches: pending.fetches,
      stray: pending.stray,
      lines: pending.lines,
      literals: pending.literals,
    });
  }
}

/** Throws unless the command completed OK. */
function ok(result: CommandResult, what: string): CommandResult {
  if (result.status !== 'OK') throw new Error(`${what}: ${result.text}`);
  return result;
}

// --- parsing captured responses (after the clock stops) ---------------------------------------------

/** An IMAP value: atom or string (quoted or literal, both as latin1 text), NIL, or a list. */
type Value = string | null | Value[];

/** Parses one captured response line into its top-level values. */
export function parseLine(parts: readonly Part[]): Value[] {
  const root: Value[] = [];
  const stack: Value[][] = [root];
  const top = (): Value[] => stack[stack.length - 1] ?? root;
  for (const part of parts) {
    if (typeof part !== 'string') {
      top().push(part.toString('latin1'));
      continue;
    }
    let i = 0;
    while (i < part.length) {
      const c = part[i];
      if (c === ' ') {
        i++;
      } else if (c === '(') {
        const list: Value[] = [];
        top().push(list);
        stack.push(list);
        i++;
      } else if (c === ')') {
        if (stack.length > 1) stack.pop();
        i++;
      } else if (c === '"') {
        let value = '';
        i++;
        while (i < part.length && part[i] !== '"') {
          if (part[i] === '\\') i++;
          value += part[i] ?? '';
          i++;
        }
        top().push(value);
        i++;
      } else if (c === '{') {
        i = part.length; // the literal is the next part
      } else {
        let j = i;
        let depth = 0;
        while (j < part.length) {
          const d = part[j];
          if (d === '[') depth++;
          else if (d === ']') depth--;
          else if (depth === 0 && (d === ' ' || d === '(' || d === ')')) break;
          j++;
        }
        const atom = part.slice(i, j);
        top().push(atom.toUpperCase() === 'NIL' ? null : atom);
        i = j;
      }
    }
  }
  return root;
}

/** `* n FETCH (K V K V ...)` as a map of upper-case item names, or undefined for other lines. */
function fetchItems(parts: readonly Part[]): Map<string, Value> | undefined {
  const values = parseLine(parts);
  const list = values[3];
  if (values[0] !== '*' || typeof values[2] !== 'string' || values[2].toUpperCase() !== 'FETCH' || !Array.isArray(list)) return undefined;
  const items = new Map<string, Value>();
  for (let i = 0; i + 1 < list.length; i += 2) {
    const key = list[i];
    if (typeof key === 'string') items.set(key.toUpperCase(), list[i + 1] ?? null);
  }
  return items;
}

// --- processes: CPU and memory of a server's process tree ---------------------------------------

interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime + cutime + cstime, seconds: its own CPU and that of its reaped children. */
  cpu: number;
}

async function processes(): Promise<Map<number, ProcessInfo>> {
  const all = new Map<number, ProcessInfo>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      const ticks = [11, 12, 13, 14].reduce((sum, k) => sum + Number(f[k] ?? 0), 0);
      all.set(Number(name), { pid: Number(name), ppid: Number(f[1]), comm, cpu: ticks / 100 });
    } catch {
      // exited meanwhile
    }
  }
  return all;
}

/** A process and its descendants. */
async function tree(root: number): Promise<ProcessInfo[]> {
  const all = await processes();
  const children = new Map<number, number[]>();
  for (const p of all.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() ?? 0;
    const info = all.get(pid);
    if (info === undefined) continue;
    out.push(info);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds of a server: the root's own and reaped children's, plus every live descendant's. */
async function treeCpuSeconds(root: number): Promise<number> {
  return (await tree(root)).reduce((sum, p) => sum + p.cpu, 0);
}

interface Memory {
  /** Sum of VmRSS (KiB) over the processes: shared pages count once per process. */
  rssKiB: number;
  /** Sum of Pss (KiB): shared pages divided among the processes that map them. */
  pssKiB: number;
  /** VmHWM of the root process (KiB): its peak resident set since it started. */
  hwmKiB: number;
  processes: number;
  /** Per process name: count and summed VmRSS (KiB). */
  byName: Record<string, { count: number; rssKiB: number; pssKiB: number }>;
}

const statusField = (status: string, name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);

async function treeMemory(root: number): Promise<Memory> {
  const memory: Memory = { rssKiB: 0, pssKiB: 0, hwmKiB: 0, processes: 0, byName: {} };
  for (const p of await tree(root)) {
    try {
      const status = await readFile(`/proc/${p.pid}/status`, 'utf8');
      const rollup = await readFile(`/proc/${p.pid}/smaps_rollup`, 'utf8').catch(() => '');
      const rss = statusField(status, 'VmRSS');
      const pss = statusField(rollup, 'Pss');
      if (p.pid === root) memory.hwmKiB = statusField(status, 'VmHWM');
      memory.rssKiB += rss;
      memory.pssKiB += pss;
      memory.processes++;
      const entry = (memory.byName[p.comm] ??= { count: 0, rssKiB: 0, pssKiB: 0 });
      entry.count++;
      entry.rssKiB += rss;
      entry.pssKiB += pss;
    } catch {
      // exited meanwhile
    }
  }
  return memory;
}

const mib = (kib: number): number => round(kib / 1024, 1);
const mb = (kib: number): number => round((kib * 1024) / 1e6, 1);

// --- servers ----------------------------------------------------------------------------------------

interface Server {
  name: 'coffer' | 'dovecot';
  port: number;
  /** The process whose tree is measured: coffer serve, or Dovecot's master. */
  pid: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

function collect(child: ChildProcess): Server['exited'] {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => {
    out.push(c);
  });
  child.stderr?.on('data', (c: Buffer) => {
    err.push(c);
  });
  return new Promise((r) => {
    child.on('error', (error) => r({ code: null, signal: null, stdout: '', stderr: String(error) }));
    child.on('close', (code, signal) => r({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Waits until the port accepts connections, or the process exits, or the time is up. */
async function waitForPort(server: Omit<Server, 'port'>, port: number, seconds: number): Promise<void> {
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline && !exited) {
    if (await accepts(port)) return;
    await sleep(100);
  }
  if (!exited) server.child.kill('SIGKILL');
  const r = await server.exited;
  throw new Error(`${server.name} is not listening on ${port} (${exited ? `exited ${r.code ?? r.signal}` : `after ${seconds} s`}): ${(r.stderr + r.stdout).slice(-2000)}`);
}

/** Environment for Coffer's CLI: no config or data directory inherited from the caller. */
function cofferEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  delete env['COFFER_CONFIG'];
  delete env['COFFER_DATA'];
  return env;
}

async function cli(main: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [...cofferNodeFlags(), main, ...args], { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: cofferEnv(), cwd: ROOT });
  if (input !== undefined) child.stdin?.end(input);
  const r = await collect(child);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr.slice(-4000), seconds: (performance.now() - started) / 1000 };
}

interface CofferSetup {
  server: Server;
  config: string;
  import: { wallSeconds: number; summary: unknown };
  inboxMessages: number | undefined;
  rssAtStartKiB: number;
}

/** A fresh data directory, the Maildir imported into archive `bench`, then `coffer serve`. */
async function startCoffer(main: string, maildir: MaildirInfo, options: Options, problems: string[]): Promise<CofferSetup> {
  const dataDir = join(options.work, 'imap-data');
  const config = join(options.work, 'imap-bench.yaml');
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  const hashed = await cli(main, ['hash-password'], `${PASSWORD}\n`);
  const hash = hashed.stdout.trim();
  if (hashed.code !== 0 || hash === '') throw new Error(`coffer hash-password failed: ${hashed.stderr}`);
  const [smtp, starttls, tls] = [await freePort(), await freePort(), await freePort()];
  await writeFile(
    config,
    [
      `dataDir: ${JSON.stringify(dataDir)}`,
      'log: { level: warn }',
      `archives: [{ name: bench, address: ${USER}@example.org }]`,
      `users: [{ name: ${USER}, passwordHash: ${JSON.stringify(hash)}, role: user, archives: { bench: read } }]`,
      `smtp: { listen: ["127.0.0.1:${smtp}"] }`,
      `imap: { starttls: "127.0.0.1:${starttls}", tls: "127.0.0.1:${tls}" }`,
      '',
    ].join('\n'),
  );
  process.stderr.write(`coffer: import maildir (${maildir.messages} messages) ...`);
  const imported = await cli(main, ['import', 'maildir', maildir.path, '--archive', 'bench', '--config', config, '--json']);
  process.stderr.write(` ${imported.seconds.toFixed(1)} s\n`);
  if (imported.code !== 0) throw new Error(`coffer import maildir exited ${imported.code}: ${imported.stderr}`);
  const summary = parseJson(imported.stdout);
  const folders = await cli(main, ['folders', 'bench', '--json', '--config', config]);
  const list = (parseJson(folders.stdout) as { folders?: { path: string; messages: number }[] } | undefined)?.folders ?? [];
  const inboxMessages = list.find((f) => f.path === 'Inbox')?.messages;
  if (inboxMessages !== maildir.messages) {
    problems.push(`coffer: the Inbox folder holds ${inboxMessages ?? 'no'} messages after the import, the Maildir ${maildir.messages} (folders: ${JSON.stringify(list).slice(0, 300)})`);
  }
  const child = spawn(process.execPath, [...cofferNodeFlags(), main, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: cofferEnv(), cwd: ROOT });
  if (child.pid === undefined) throw new Error('coffer serve did not start');
  const server: Server = { name: 'coffer', port: tls, pid: child.pid, child, exited: collect(child) };
  await waitForPort(server, tls, 60);
  const rssAtStartKiB = (await treeMemory(server.pid)).rssKiB;
  return { server, config, import: { wallSeconds: round(imported.seconds, 2), summary }, inboxMessages, rssAtStartKiB };
}

interface DovecotSetup {
  server: Server;
  version: string;
  root: string;
  rssAtStartKiB: number;
}

/**
 * Our own Dovecot: a config of its own (no system service, nothing from /etc/dovecot), loopback
 * implicit-TLS port only, a passwd-file with a plain password, the Maildir as INBOX with indexes
 * and control files in their own directories, limits raised for the idle sessions. Run in the
 * foreground (-F) as our child: its pid is the master's.
 */
async function startDovecot(maildir: MaildirInfo, options: Options, sessions: number): Promise<DovecotSetup> {
  const version = spawnSync('dovecot', ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error('dovecot not installed (apt-get install -y dovecot-imapd)');
  const root = join(options.work, 'imap-dovecot');
  await rm(root, { recursive: true, force: true });
  for (const sub of ['run', 'state', 'index', 'control', 'home']) await mkdir(join(root, sub), { recursive: true });
  const cert = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(root, 'key.pem'), '-out', join(root, 'cert.pem'), '-days', '30', '-subj', '/CN=localhost'],
    { encoding: 'utf8' },
  );
  if (cert.status !== 0) throw new Error(`openssl req failed: ${cert.stderr}`);
  await writeFile(join(root, 'passwd'), `${USER}:{PLAIN}${PASSWORD}::::::\n`);
  const port = await freePort();
  const limit = Math.max(200, sessions * 2 + 20);
  const conf = join(root, 'dovecot.conf');
  await writeFile(
    conf,
    [
      `base_dir = ${root}/run`,
      `state_dir = ${root}/state`,
      `log_path = ${root}/dovecot.log`,
      'protocols = imap',
      'listen = 127.0.0.1',
      'ssl = required',
      `ssl_cert = <${root}/cert.pem`,
      `ssl_key = <${root}/key.pem`,
      // One login process per connection (Dovecot's default, "high-security" mode): it terminates
      // TLS and proxies to the imap process, so N sessions are 2N processes.
      `default_process_limit = ${limit}`,
      `default_client_limit = ${limit * 4}`,
      `mail_max_userip_connections = ${limit}`,
      'auth_mechanisms = plain',
      'passdb {',
      '  driver = passwd-file',
      `  args = scheme=PLAIN username_format=%u ${root}/passwd`,
      '}',
      'userdb {',
      '  driver = static',
      `  args = uid=${DOVECOT_MAIL_USER} gid=${DOVECOT_MAIL_GROUP} home=${root}/home`,
      '}',
      `mail_location = maildir:${maildir.path}:INDEX=${root}/index:CONTROL=${root}/control`,
      'service imap-login {',
      '  inet_listener imap {',
      '    port = 0',
      '  }',
      '  inet_listener imaps {',
      '    address = 127.0.0.1',
      `    port = ${port}`,
      '    ssl = yes',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  // The mail processes run as nobody: they must be able to write their index and control files,
  // and Dovecot only keeps indexes for a Maildir it may write (else every session rescans it).
  const owner = `${DOVECOT_MAIL_USER}:${DOVECOT_MAIL_GROUP}`;
  for (const dir of [join(root, 'index'), join(root, 'control'), join(root, 'home'), maildir.path]) {
    const chown = spawnSync('chown', ['-R', owner, dir], { encoding: 'utf8' });
    if (chown.status !== 0) throw new Error(`chown ${dir}: ${chown.stderr}`);
  }
  const child = spawn('dovecot', ['-c', conf, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error('dovecot did not start');
  const server: Server = { name: 'dovecot', port, pid: child.pid, child, exited: collect(child) };
  await waitForPort(server, port, 30);
  return { server, version: version.stdout.trim(), root, rssAtStartKiB: (await treeMemory(server.pid)).rssKiB };
}

async function stop(server: Server): Promise<{ code: number | null; signal: string | null; seconds: number }> {
  const started = performance.now();
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
  const r = await server.exited;
  clearTimeout(timer);
  return { code: r.code, signal: r.signal, seconds: round((performance.now() - started) / 1000, 2) };
}

// --- sessions ---------------------------------------------------------------------------------------

interface Session {
  client: ImapClient;
  connectMs: number;
  loginMs: number;
}

async function login(server: Server, timeoutMs: number): Promise<Session> {
  const { client, ms } = await ImapClient.connect(server.port, timeoutMs);
  const result = ok(await client.command(`LOGIN ${USER} ${PASSWORD}`), `${server.name} LOGIN`);
  return { client, connectMs: ms, loginMs: result.ms };
}

/** EXISTS of a captured SELECT/EXAMINE answer. */
function exists(result: CommandResult): number | undefined {
  for (const line of result.lines) {
    const m = /^\* (\d+) EXISTS/i.exec(typeof line[0] === 'string' ? line[0] : '');
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

// --- measurements -----------------------------------------------------------------------------------

interface Timing {
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samplesMs: number[];
}

function timing(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    runs: sorted.length,
    medianMs: round(percentile(sorted, 50), 2),
    minMs: round(sorted[0] ?? Number.NaN, 2),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN, 2),
    samplesMs: samples.map((s) => round(s, 2)),
  };
}

interface FirstContact {
  connectMs: number;
  loginMs: number;
  examineMs: number;
  exists: number | undefined;
  fetchMs: number;
  fetchBytes: number;
  fetches: number;
  tls: string;
  /** Per message, in UID order: UID, RFC822.SIZE, ENVELOPE and BODYSTRUCTURE (normalised JSON). */
  messages: { uid: number; size: number; envelope: string; bodystructure: string; flags: string }[];
  checks: string[];
}

/** The first (cold) session: EXAMINE and the metadata FETCH, captured and checked. */
async function firstContact(server: Server, expected: number, options: Options): Promise<FirstContact> {
  const session = await login(server, options.timeoutSeconds * 1000);
  const { client } = session;
  const examine = ok(await client.command('EXAMINE INBOX', { capture: true }), `${server.name} EXAMINE`);
  const fetch = ok(await client.command(`UID FETCH 1:* ${METADATA_ITEMS}`, { capture: true }), `${server.name} UID FETCH`);
  const tls = client.tlsInfo();
  await client.logout();
  const checks: string[] = [];
  const messages: FirstContact['messages'] = [];
  let missing = 0;
  for (const line of fetch.lines) {
    const items = fetchItems(line);
    if (items === undefined) continue;
    const uid = Number(items.get('UID'));
    const size = Number(items.get('RFC822.SIZE'));
    const envelope = items.get('ENVELOPE');
    const bodystructure = items.get('BODYSTRUCTURE');
    const flags = items.get('FLAGS');
    if (!Number.isInteger(uid) || !Number.isInteger(size) || envelope === undefined || bodystructure === undefined || flags === undefined) missing++;
    messages.push({ uid, size, envelope: JSON.stringify(envelope ?? null), bodystructure: JSON.stringify(bodystructure ?? null), flags: JSON.stringify(flags ?? null) });
  }
  const ex = exists(examine);
  if (ex !== expected) checks.push(`EXAMINE INBOX answered ${ex ?? 'no'} EXISTS, expected ${expected}`);
  if (fetch.fetches !== expected) checks.push(`UID FETCH 1:* answered ${fetch.fetches} FETCH responses, expected ${expected}`);
  if (missing > 0) checks.push(`${missing} FETCH responses lack UID, FLAGS, ENVELOPE, BODYSTRUCTURE or RFC822.SIZE`);
  if (examine.stray + fetch.stray > 0) checks.push(`${examine.stray + fetch.stray} lines outside any response (EXAMINE, metadata FETCH)`);
  const unordered = messages.filter((m, i) => i > 0 && m.uid <= (messages[i - 1]?.uid ?? 0)).length;
  if (unordered > 0) checks.push(`${unordered} FETCH responses out of ascending UID order`);
  const objects = messages.filter((m) => m.envelope.includes('[object Object]') || m.bodystructure.includes('[object Object]')).length;
  if (objects > 0) checks.push(`${objects} ENVELOPE/BODYSTRUCTURE values contain "[object Object]"`);
  return {
    connectMs: round(session.connectMs, 2),
    loginMs: round(session.loginMs, 2),
    examineMs: round(examine.ms, 2),
    exists: ex,
    fetchMs: round(fetch.ms, 2),
    fetchBytes: fetch.bytes,
    fetches: fetch.fetches,
    tls,
    messages,
    checks,
  };
}

interface MetadataRun {
  examineMs: number;
  fetchMs: number;
  bytes: number;
  fetches: number;
  serverCpuSeconds: number;
}

async function metadataRun(server: Server, options: Options): Promise<MetadataRun> {
  const { client } = await login(server, options.timeoutSeconds * 1000);
  const cpu0 = await treeCpuSeconds(server.pid);
  const examine = ok(await client.command('EXAMINE INBOX'), `${server.name} EXAMINE`);
  const fetch = ok(await client.command(`UID FETCH 1:* ${METADATA_ITEMS}`), `${server.name} UID FETCH`);
  const cpu1 = await treeCpuSeconds(server.pid);
  await client.logout();
  return { examineMs: examine.ms, fetchMs: fetch.ms, bytes: fetch.bytes, fetches: fetch.fetches, serverCpuSeconds: cpu1 - cpu0 };
}

interface DownloadRun {
  ms: number;
  bytes: number;
  literalBytes: number;
  messages: number;
  serverCpuSeconds: number;
  /** Peak summed VmRSS of the server's processes, sampled every 250 ms during the download. */
  peakRssKiB: number;
  sizes: number[];
  /** Lines outside any response: a literal announced fewer bytes than were sent. */
  stray: number;
  /** sha256 of each body with CRLF turned into LF (kept on the first run only). */
  hashes?: string[];
  crlfOnly?: number;
}

async function downloadRun(server: Server, options: Options, keep: boolean): Promise<DownloadRun> {
  const { client } = await login(server, options.timeoutSeconds * 1000);
  ok(await client.command('EXAMINE INBOX'), `${server.name} EXAMINE`);
  // VmRSS of the processes serving (Coffer's one; Dovecot's tree, this session's imap and
  // imap-login included), every 250 ms: only their status files, to keep the sampler cheap.
  const pids = (await tree(server.pid)).map((p) => p.pid);
  let peakRssKiB = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      let sum = 0;
      for (const pid of pids) sum += statusField(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''), 'VmRSS');
      peakRssKiB = Math.max(peakRssKiB, sum);
      await sleep(250);
    }
  })();
  const cpu0 = await treeCpuSeconds(server.pid);
  const fetch = ok(await client.command('UID FETCH 1:* BODY.PEEK[]', { keepLiterals: keep }), `${server.name} UID FETCH BODY.PEEK[]`);
  const cpu1 = await treeCpuSeconds(server.pid);
  sampling = false;
  await sampler;
  await client.logout();
  const run: DownloadRun = {
    ms: fetch.ms,
    bytes: fetch.bytes,
    literalBytes: fetch.literalBytes,
    messages: fetch.literalSizes.length,
    serverCpuSeconds: cpu1 - cpu0,
    peakRssKiB,
    sizes: fetch.literalSizes,
    stray: fetch.stray,
  };
  if (keep) {
    let crlfOnly = 0;
    run.hashes = fetch.literals.map((pieces) => {
      const body = Buffer.concat(pieces);
      const text = body.toString('latin1');
      // IMAP sends CRLF line ends: every LF should follow a CR.
      if (!/(^|[^\r])\n/.test(text)) crlfOnly++;
      return createHash('sha256').update(text.replace(/\r\n/g, '\n'), 'latin1').digest('hex');
    });
    run.crlfOnly = crlfOnly;
  }
  return run;
}

interface SearchResult {
  word: string;
  hits?: number;
  latency?: { runs: number; p50Ms: number; p95Ms: number; maxMs: number };
  error?: string;
}

async function searchWords(server: Server, options: Options): Promise<SearchResult[]> {
  const results: SearchResult[] = [];
  const { client } = await login(server, options.timeoutSeconds * 1000);
  try {
    ok(await client.command('EXAMINE INBOX'), `${server.name} EXAMINE`);
    for (const word of options.words) {
      process.stderr.write(`${server.name}: UID SEARCH TEXT ${word} ...`);
      const entry: SearchResult = { word };
      try {
        const once = async (): Promise<{ ms: number; hits: number }> => {
          const r = ok(await client.command(`UID SEARCH TEXT ${word}`, { capture: true }), `${server.name} SEARCH`);
          let hits = 0;
          for (const line of r.lines) {
            const values = parseLine(line);
            if (values[0] === '*' && typeof values[1] === 'string' && values[1].toUpperCase() === 'SEARCH') hits += values.length - 2;
          }
          return { ms: r.ms, hits };
        };
        for (let i = 0; i < 2; i++) await once();
        const samples: number[] = [];
        const deadline = performance.now() + options.queryBudgetSeconds * 1000;
        let hits = 0;
        for (let i = 0; i < options.runs && (i < 5 || performance.now() < deadline); i++) {
          const r = await once();
          samples.push(r.ms);
          hits = r.hits;
        }
        const sorted = [...samples].sort((a, b) => a - b);
        entry.hits = hits;
        entry.latency = {
          runs: sorted.length,
          p50Ms: round(percentile(sorted, 50), 2),
          p95Ms: round(percentile(sorted, 95), 2),
          maxMs: round(sorted[sorted.length - 1] ?? Number.NaN, 2),
        };
        process.stderr.write(` ${hits} hits, p50 ${entry.latency.p50Ms} ms\n`);
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
        process.stderr.write(` failed: ${entry.error}\n`);
      }
      results.push(entry);
    }
  } finally {
    await client.logout();
  }
  return results;
}

interface IdleResult {
  sessions: number;
  opened: number;
  failures: string[];
  openSeconds: number;
  before: Memory;
  withSessions: Memory;
  afterClosing: Memory;
  serverCpuSeconds: number;
}

/** N sessions: LOGIN, SELECT INBOX, IDLE (10 opening at a time); memory before, during, after. */
async function idleSessions(server: Server, count: number, options: Options): Promise<IdleResult> {
  const before = await treeMemory(server.pid);
  const cpu0 = await treeCpuSeconds(server.pid);
  const started = performance.now();
  const open: { client: ImapClient; done: () => Promise<CommandResult> }[] = [];
  const failures: string[] = [];
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < count) {
      next++;
      try {
        const { client } = await login(server, options.timeoutSeconds * 1000);
        ok(await client.command('SELECT INBOX'), `${server.name} SELECT`);
        const { done } = await client.idle();
        open.push({ client, done });
      } catch (error) {
        if (failures.length < 10) failures.push(error instanceof Error ? error.message : String(error));
        else failures.push('…');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(10, count) }, () => opener()));
  const openSeconds = (performance.now() - started) / 1000;
  await sleep(3000);
  const withSessions = await treeMemory(server.pid);
  const cpu1 = await treeCpuSeconds(server.pid);
  await Promise.all(
    open.map(async ({ client, done }) => {
      try {
        await done();
      } catch {
        // counted by the open check above; closing anyway
      }
      await client.logout();
    }),
  );
  await sleep(3000);
  const afterClosing = await treeMemory(server.pid);
  return { sessions: count, opened: open.length, failures, openSeconds: round(openSeconds, 2), before, withSessions, afterClosing, serverCpuSeconds: round(cpu1 - cpu0, 2) };
}

interface PhaseLoad {
  wallSeconds: number;
  /** CPU seconds of each server's process tree, of this process (the client) and of the rest. */
  serverCpuSeconds: Record<string, number>;
  clientCpuSeconds: number;
  otherCpuSeconds: number;
}

/** Starts accounting a phase's CPU; the returned function ends it. */
async function phaseLoad(servers: readonly Server[]): Promise<() => Promise<PhaseLoad>> {
  const started = performance.now();
  const busy0 = await machineBusySeconds();
  const own0 = process.cpuUsage();
  const cpu0 = await Promise.all(servers.map((s) => treeCpuSeconds(s.pid)));
  return async () => {
    const cpu1 = await Promise.all(servers.map((s) => treeCpuSeconds(s.pid)));
    const own = process.cpuUsage(own0);
    const busy = (await machineBusySeconds()) - busy0;
    const serverCpuSeconds = Object.fromEntries(servers.map((s, i) => [s.name, round((cpu1[i] ?? 0) - (cpu0[i] ?? 0), 2)]));
    const clientCpuSeconds = (own.user + own.system) / 1e6;
    const serversTotal = Object.values(serverCpuSeconds).reduce((a, b) => a + b, 0);
    return {
      wallSeconds: round((performance.now() - started) / 1000, 1),
      serverCpuSeconds,
      clientCpuSeconds: round(clientCpuSeconds, 2),
      otherCpuSeconds: round(Math.max(0, busy - serversTotal - clientCpuSeconds), 2),
    };
  };
}

// --- report -----------------------------------------------------------------------------------------

const fmt = (value: number | undefined, digits = 1): string => (value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));
const ms = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? 'n/a' : value < 10 ? value.toFixed(2) : value.toFixed(1));
const times = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(2)}×`);
const count = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? 'n/a' : value.toLocaleString('en-US'));
const ratio = (dovecot: number | undefined, coffer: number | undefined): number | undefined =>
  dovecot !== undefined && coffer !== undefined && coffer > 0 ? round(dovecot / coffer, 3) : undefined;

interface ServerResults {
  tls?: string;
  first?: Omit<FirstContact, 'messages'>;
  examine?: Timing;
  fetch?: Timing & { bytes: number; fetches: number; serverCpuSecondsMedian: number };
  download?: Timing & {
    seconds: number;
    mbPerSecond: number;
    bytes: number;
    literalBytes: number;
    messages: number;
    serverCpuSecondsMedian: number;
    peakRssKiB: number;
    crlfOnly?: number;
    sizeMismatches?: number;
    strayLines: number;
  };
  search?: SearchResult[];
  idle?: IdleResult;
  errors: string[];
}

function summariseRuns(runs: MetadataRun[]): Pick<ServerResults, 'examine' | 'fetch'> {
  if (runs.length === 0) return {};
  const cpu = [...runs.map((r) => r.serverCpuSeconds)].sort((a, b) => a - b);
  const last = runs[runs.length - 1];
  return {
    examine: timing(runs.map((r) => r.examineMs)),
    fetch: { ...timing(runs.map((r) => r.fetchMs)), bytes: last?.bytes ?? 0, fetches: last?.fetches ?? 0, serverCpuSecondsMedian: round(percentile(cpu, 50), 2) },
  };
}

function summariseDownloads(runs: DownloadRun[], first: FirstContact | undefined): ServerResults['download'] {
  if (runs.length === 0) return undefined;
  const t = timing(runs.map((r) => r.ms));
  const cpu = [...runs.map((r) => r.serverCpuSeconds)].sort((a, b) => a - b);
  const last = runs[runs.length - 1];
  const kept = runs.find((r) => r.hashes !== undefined);
  const sizes = first?.messages.map((m) => m.size);
  const sizeMismatches = sizes === undefined || last === undefined ? undefined : last.sizes.filter((s, i) => s !== sizes[i]).length + Math.abs(last.sizes.length - sizes.length);
  const literalBytes = last?.literalBytes ?? 0;
  return {
    ...t,
    seconds: round(t.medianMs / 1000, 3),
    mbPerSecond: round(literalBytes / 1e6 / (t.medianMs / 1000), 2),
    bytes: last?.bytes ?? 0,
    literalBytes,
    messages: last?.messages ?? 0,
    serverCpuSecondsMedian: round(percentile(cpu, 50), 2),
    peakRssKiB: Math.max(...runs.map((r) => r.peakRssKiB)),
    strayLines: Math.max(...runs.map((r) => r.stray)),
    ...(kept?.crlfOnly !== undefined ? { crlfOnly: kept.crlfOnly } : {}),
    ...(sizeMismatches !== undefined ? { sizeMismatches } : {}),
  };
}

interface Comparison {
  /** Messages compared by position (both servers list them in Maildir order by UID). */
  compared: number;
  sizesEqual: number;
  /** The FLAGS answers of each server and how many messages had each (not compared: Coffer shows its archive flags). */
  flags: { coffer: Record<string, number>; dovecot: Record<string, number> };
  envelopesEqual: number;
  bodystructuresEqual: number;
  bodiesEqual?: number;
  examples: { what: string; index: number; coffer: string; dovecot: string }[];
}

function compare(coffer: FirstContact, dovecot: FirstContact, cofferHashes: string[] | undefined, dovecotHashes: string[] | undefined): Comparison {
  const n = Math.min(coffer.messages.length, dovecot.messages.length);
  const tally = (list: FirstContact['messages']): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const m of list) counts[m.flags] = (counts[m.flags] ?? 0) + 1;
    return counts;
  };
  const c: Comparison = {
    compared: n,
    sizesEqual: 0,
    flags: { coffer: tally(coffer.messages), dovecot: tally(dovecot.messages) },
    envelopesEqual: 0,
    bodystructuresEqual: 0,
    examples: [],
  };
  const seen: Record<string, number> = {};
  const example = (what: string, index: number, a: string, b: string): void => {
    seen[what] = (seen[what] ?? 0) + 1;
    if ((seen[what] ?? 0) <= 3) c.examples.push({ what, index, coffer: a.slice(0, 600), dovecot: b.slice(0, 600) });
  };
  for (let i = 0; i < n; i++) {
    const a = coffer.messages[i];
    const b = dovecot.messages[i];
    if (a === undefined || b === undefined) continue;
    if (a.size === b.size) c.sizesEqual++;
    else example('RFC822.SIZE', i, String(a.size), String(b.size));
    if (a.envelope === b.envelope) c.envelopesEqual++;
    else example('ENVELOPE', i, a.envelope, b.envelope);
    if (a.bodystructure.toLowerCase() === b.bodystructure.toLowerCase()) c.bodystructuresEqual++;
    else example('BODYSTRUCTURE', i, a.bodystructure, b.bodystructure);
  }
  if (cofferHashes !== undefined && dovecotHashes !== undefined) {
    c.bodiesEqual = 0;
    for (let i = 0; i < Math.min(cofferHashes.length, dovecotHashes.length); i++) {
      if (cofferHashes[i] === dovecotHashes[i]) c.bodiesEqual++;
      else if ((seen['BODY[]'] = (seen['BODY[]'] ?? 0) + 1) <= 3) c.examples.push({ what: 'BODY[] (CRLF→LF sha256)', index: i, coffer: cofferHashes[i] ?? '', dovecot: dovecotHashes[i] ?? '' });
    }
  }
  return c;
}

function printReport(r: {
  rssAtStartKiB: { coffer?: number; dovecot?: number };
  messages: number;
  bytes: number;
  coffer: ServerResults;
  dovecot: ServerResults;
  comparison: Comparison | undefined;
  sessions: number;
  problems: string[];
}): void {
  const { coffer: c, dovecot: d } = r;
  const out: string[] = [];
  out.push(`## IMAP benchmark: one folder of ${count(r.messages)} messages (${(r.bytes / 1e6).toFixed(1)} MB), implicit TLS`, '');
  out.push('| measurement | Coffer | Dovecot | ratio (Dovecot ÷ Coffer) |');
  out.push('|---|---|---|---|');
  const row = (name: string, a: string, b: string, q: string): number => out.push(`| ${name} | ${a} | ${b} | ${q} |`);
  row('EXAMINE INBOX, first (cold) ms', ms(c.first?.examineMs), ms(d.first?.examineMs), times(ratio(d.first?.examineMs, c.first?.examineMs)));
  row(`EXAMINE INBOX, median of ${c.examine?.runs ?? d.examine?.runs ?? 0} ms`, ms(c.examine?.medianMs), ms(d.examine?.medianMs), times(ratio(d.examine?.medianMs, c.examine?.medianMs)));
  row('metadata UID FETCH 1:*, first (cold) ms', ms(c.first?.fetchMs), ms(d.first?.fetchMs), times(ratio(d.first?.fetchMs, c.first?.fetchMs)));
  row(
    `metadata UID FETCH 1:*, median of ${c.fetch?.runs ?? d.fetch?.runs ?? 0} ms (min–max)`,
    c.fetch ? `**${ms(c.fetch.medianMs)}** (${ms(c.fetch.minMs)}–${ms(c.fetch.maxMs)})` : 'n/a',
    d.fetch ? `${ms(d.fetch.medianMs)} (${ms(d.fetch.minMs)}–${ms(d.fetch.maxMs)})` : 'n/a',
    `**${times(ratio(d.fetch?.medianMs, c.fetch?.medianMs))}**`,
  );
  row('… FETCH responses, MB received', c.fetch ? `${count(c.fetch.fetches)}, ${(c.fetch.bytes / 1e6).toFixed(2)}` : 'n/a', d.fetch ? `${count(d.fetch.fetches)}, ${(d.fetch.bytes / 1e6).toFixed(2)}` : 'n/a', '');
  row('… server CPU s (median)', fmt(c.fetch?.serverCpuSecondsMedian, 2), fmt(d.fetch?.serverCpuSecondsMedian, 2), '');
  row(
    `full download BODY.PEEK[], median of ${c.download?.runs ?? d.download?.runs ?? 0}: s, MB/s`,
    c.download ? `**${fmt(c.download.seconds, 2)} s, ${fmt(c.download.mbPerSecond, 1)} MB/s**` : 'n/a',
    d.download ? `${fmt(d.download.seconds, 2)} s, ${fmt(d.download.mbPerSecond, 1)} MB/s` : 'n/a',
    `**${times(ratio(d.download?.medianMs, c.download?.medianMs))}**`,
  );
  row(
    '… messages, literal MB (MB on the wire)',
    c.download ? `${count(c.download.messages)}, ${(c.download.literalBytes / 1e6).toFixed(2)} (${(c.download.bytes / 1e6).toFixed(2)})` : 'n/a',
    d.download ? `${count(d.download.messages)}, ${(d.download.literalBytes / 1e6).toFixed(2)} (${(d.download.bytes / 1e6).toFixed(2)})` : 'n/a',
    '',
  );
  row('… server CPU s (median), peak RSS MiB', c.download ? `${fmt(c.download.serverCpuSecondsMedian, 2)}, ${fmt(mib(c.download.peakRssKiB), 0)}` : 'n/a', d.download ? `${fmt(d.download.serverCpuSecondsMedian, 2)}, ${fmt(mib(d.download.peakRssKiB), 0)}` : 'n/a', '');
  const words = new Set([...(c.search ?? []), ...(d.search ?? [])].map((s) => s.word));
  for (const word of words) {
    const a = c.search?.find((s) => s.word === word);
    const b = d.search?.find((s) => s.word === word);
    const cell = (s: SearchResult | undefined): string => (s?.latency ? `${count(s.hits)} hits, p50 ${ms(s.latency.p50Ms)} / p95 ${ms(s.latency.p95Ms)} ms` : s?.error !== undefined ? `error: ${s.error.slice(0, 80)}` : 'n/a');
    row(`UID SEARCH TEXT ${word}`, cell(a), cell(b), times(ratio(b?.latency?.p50Ms, a?.latency?.p50Ms)));
  }
  const idle = (i: IdleResult | undefined, server: 'coffer' | 'dovecot'): string => {
    if (i === undefined) return 'n/a';
    const main = `${fmt(mib(i.before.rssKiB), 0)} → **${fmt(mib(i.withSessions.rssKiB), 0)}** MiB (${fmt(mb(i.withSessions.rssKiB), 0)} MB)`;
    const extra = server === 'coffer' ? `, VmHWM ${fmt(mib(i.withSessions.hwmKiB), 0)}` : `, PSS ${fmt(mib(i.withSessions.pssKiB), 0)}, ${i.withSessions.processes} processes`;
    return `${main}${extra}${i.opened < i.sessions ? `; only ${i.opened} opened` : ''}`;
  };
  const startRss = (kib: number | undefined): string => (kib === undefined ? 'n/a' : `${fmt(mib(kib), 0)} MiB`);
  row('RSS when started (no session yet)', startRss(r.rssAtStartKiB.coffer), startRss(r.rssAtStartKiB.dovecot), '');
  if (r.sessions > 0) row(`${r.sessions} sessions in IDLE: RSS before → with them`, idle(c.idle, 'coffer'), idle(d.idle, 'dovecot'), '');
  out.push('');
  out.push(`TLS: Coffer ${c.tls ?? 'n/a'}, Dovecot ${d.tls ?? 'n/a'}`);
  if (r.comparison !== undefined) {
    const k = r.comparison;
    out.push(
      `Same answers (by position, of ${count(k.compared)}): RFC822.SIZE ${count(k.sizesEqual)}, ENVELOPE ${count(k.envelopesEqual)}, ` +
        `BODYSTRUCTURE ${count(k.bodystructuresEqual)} (case-insensitive), BODY[] ${k.bodiesEqual === undefined ? 'n/a' : count(k.bodiesEqual)} (line ends normalised)`,
    );
    out.push(`FLAGS: Coffer ${JSON.stringify(k.flags.coffer)}, Dovecot ${JSON.stringify(k.flags.dovecot)}`);
  }
  for (const [name, s] of [['Coffer', c], ['Dovecot', d]] as const) {
    for (const check of s.first?.checks ?? []) out.push(`- CHECK ${name}: ${check}`);
    if (s.download?.sizeMismatches) out.push(`- CHECK ${name}: ${s.download.sizeMismatches} BODY[] literals differ in length from RFC822.SIZE`);
    if (s.download?.strayLines) out.push(`- CHECK ${name}: ${s.download.strayLines} lines outside any response in the download: literals announcing fewer bytes than were sent`);
    if (s.download !== undefined && s.download.messages !== r.messages) out.push(`- CHECK ${name}: the download returned ${s.download.messages} messages, expected ${r.messages}`);
    if (s.download?.crlfOnly !== undefined && s.download.crlfOnly !== s.download.messages) out.push(`- CHECK ${name}: ${s.download.messages - s.download.crlfOnly} BODY[] literals contain bare LF line ends`);
    for (const e of s.errors) out.push(`- ERROR ${name}: ${e}`);
  }
  for (const a of c.search ?? []) {
    const b = d.search?.find((s) => s.word === a.word);
    if (a.hits === 0 && (b?.hits ?? 0) > 0) out.push(`- CHECK Coffer: SEARCH TEXT ${a.word} found nothing, Dovecot ${count(b?.hits)} messages`);
  }
  for (const problem of r.problems) out.push(`- PROBLEM: ${problem}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

// --- main -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await mkdir(options.work, { recursive: true });
  const problems: string[] = [];
  const entry = options.main ?? (await snapshotDist(options.work, 'dist-snapshot-imap'));

  const mboxPath = join(options.work, 'corpus.mbox');
  const mbox = await cached(mboxPath, { kind: 'mbox' }, () => writeMbox(mboxPath));
  const maildirPath = join(options.work, 'imap-maildir-corpus');
  const maildir = await cached(maildirPath, { kind: 'maildir', from: mbox.path, messages: mbox.messages, bytes: mbox.bytes }, () => writeMaildir(entry, mbox, maildirPath));

  const coffer: ServerResults = { errors: [] };
  const dovecot: ServerResults = { errors: [] };
  let cofferSetup: CofferSetup | undefined;
  let dovecotSetup: DovecotSetup | undefined;
  const stops: Record<string, unknown> = {};
  const loadAtStart = await waitIdle(options.waitIdleSeconds);
  try {
    if (!options.skipCoffer) {
      try {
        cofferSetup = await startCoffer(entry, maildir, options, problems);
      } catch (error) {
        coffer.errors.push(`start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (!options.skipDovecot) {
      try {
        dovecotSetup = await startDovecot(maildir, options, options.sessions);
      } catch (error) {
        dovecot.errors.push(`start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const servers: [Server, ServerResults][] = [];
    if (cofferSetup !== undefined) servers.push([cofferSetup.server, coffer]);
    if (dovecotSetup !== undefined) servers.push([dovecotSetup.server, dovecot]);
    const attempt = async <T>(results: ServerResults, what: string, fn: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await fn();
      } catch (error) {
        results.errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
    };
    // The servers alternate in every round, first one then the other, so that a neighbour's load
    // on this shared machine falls on both alike.
    const rounds = async (n: number, fn: (server: Server, results: ServerResults, i: number) => Promise<void>): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const order = i % 2 === 0 ? servers : [...servers].reverse();
        for (const [server, results] of order) {
          if (results.errors.length < 3) await fn(server, results, i);
        }
      }
    };

    // 1. First contact (cold), captured and checked; then the timed rounds.
    const firsts = new Map<string, FirstContact>();
    await waitIdle(options.waitIdleSeconds);
    for (const [server, results] of servers) {
      process.stderr.write(`${server.name}: first EXAMINE + metadata FETCH ...`);
      const first = await attempt(results, 'first session', () => firstContact(server, maildir.messages, options));
      if (first !== undefined) {
        firsts.set(server.name, first);
        const { messages: _m, ...rest } = first;
        results.first = rest;
        results.tls = first.tls;
        process.stderr.write(` ${first.fetches} FETCH responses, ${first.fetchMs.toFixed(0)} ms\n`);
      } else process.stderr.write(' failed\n');
    }
    const phases: Record<string, PhaseLoad> = {};
    const serverList = servers.map(([server]) => server);
    const metadata = new Map<string, MetadataRun[]>();
    process.stderr.write(`metadata FETCH: ${options.reps} rounds `);
    let endPhase = await phaseLoad(serverList);
    await rounds(options.reps, async (server, results) => {
      const run = await attempt(results, 'metadata FETCH', () => metadataRun(server, options));
      if (run !== undefined) metadata.set(server.name, [...(metadata.get(server.name) ?? []), run]);
      process.stderr.write('.');
    });
    phases['metadataFetch'] = await endPhase();
    process.stderr.write('\n');
    for (const [server, results] of servers) Object.assign(results, summariseRuns(metadata.get(server.name) ?? []));

    // 2. Full download.
    await waitIdle(options.waitIdleSeconds);
    const downloads = new Map<string, DownloadRun[]>();
    process.stderr.write(`full download: ${options.downloads} rounds `);
    endPhase = await phaseLoad(serverList);
    await rounds(options.downloads, async (server, results, i) => {
      const run = await attempt(results, 'download', () => downloadRun(server, options, i === 0));
      if (run !== undefined) downloads.set(server.name, [...(downloads.get(server.name) ?? []), run]);
      process.stderr.write('.');
    });
    phases['download'] = await endPhase();
    process.stderr.write('\n');
    for (const [server, results] of servers) results.download = summariseDownloads(downloads.get(server.name) ?? [], firsts.get(server.name));

    // 3. SEARCH TEXT.
    for (const [server, results] of servers) {
      await waitIdle(options.waitIdleSeconds);
      endPhase = await phaseLoad(serverList);
      const search = await attempt(results, 'search', () => searchWords(server, options));
      phases[`search-${server.name}`] = await endPhase();
      if (search !== undefined) results.search = search;
    }

    // 4. Idle sessions.
    if (options.sessions > 0) {
      for (const [server, results] of servers) {
        await waitIdle(options.waitIdleSeconds);
        process.stderr.write(`${server.name}: ${options.sessions} sessions in IDLE ...`);
        const idle = await attempt(results, 'idle sessions', () => idleSessions(server, options.sessions, options));
        if (idle !== undefined) {
          results.idle = idle;
          process.stderr.write(` ${idle.opened} open, RSS ${mib(idle.before.rssKiB)} → ${mib(idle.withSessions.rssKiB)} MiB\n`);
        } else process.stderr.write(' failed\n');
      }
    }

    const cofferFirst = firsts.get('coffer');
    const dovecotFirst = firsts.get('dovecot');
    const comparison =
      cofferFirst !== undefined && dovecotFirst !== undefined
        ? compare(
            cofferFirst,
            dovecotFirst,
            downloads.get('coffer')?.find((d) => d.hashes !== undefined)?.hashes,
            downloads.get('dovecot')?.find((d) => d.hashes !== undefined)?.hashes,
          )
        : undefined;

    if (cofferSetup !== undefined) stops['coffer'] = await stop(cofferSetup.server);
    if (dovecotSetup !== undefined) stops['dovecot'] = await stop(dovecotSetup.server);
    if (cofferSetup !== undefined) {
      const exited = await cofferSetup.server.exited;
      if (exited.code !== 0) problems.push(`coffer serve exited ${exited.code ?? exited.signal} on SIGTERM: ${exited.stderr.slice(-1000)}`);
      // The self-signed certificate warning is expected here.
      const warnings = `${exited.stdout}\n${exited.stderr}`.split('\n').filter((l) => /"level":(4|5|6)\d|error|warn/i.test(l) && !/self-signed TLS certificate/.test(l));
      if (warnings.length > 0) problems.push(`coffer serve logged ${warnings.length} warning/error lines; first: ${warnings.slice(0, 3).join(' | ').slice(0, 1500)}`);
    }
    if (dovecotSetup !== undefined) {
      const log = await readFile(join(dovecotSetup.root, 'dovecot.log'), 'utf8').catch(() => '');
      const bad = log.split('\n').filter((l) => /(Error|Fatal|Panic|Warning):/.test(l) && !/Killed with signal 15/.test(l));
      if (bad.length > 0) problems.push(`dovecot logged ${bad.length} warning/error lines; first: ${bad.slice(0, 3).join(' | ').slice(0, 1000)}`);
    }

    const fetchRatio = ratio(dovecot.fetch?.medianMs, coffer.fetch?.medianMs);
    const downloadRatio = ratio(dovecot.download?.medianMs, coffer.download?.medianMs);
    const results = {
      machine: machine(),
      command: `node --import=tsx bench/imap.ts ${process.argv.slice(2).join(' ')}`.trim(),
      cli: options.main ?? 'snapshot of dist/ taken at start',
      otherCoresAtStart: round(loadAtStart, 2),
      phases,
      targets: TARGETS,
      input: { maildir: maildir.path, messages: maildir.messages, bytes: maildir.bytes },
      options: { reps: options.reps, downloads: options.downloads, runs: options.runs, words: options.words, sessions: options.sessions },
      ratios: {
        definition: 'Dovecot time ÷ Coffer time, medians (≥ 1: Coffer at least as fast)',
        examine: ratio(dovecot.examine?.medianMs, coffer.examine?.medianMs),
        metadataFetch: fetchRatio,
        download: downloadRatio,
        search: Object.fromEntries(
          options.words.map((w) => [w, ratio(dovecot.search?.find((s) => s.word === w)?.latency?.p50Ms, coffer.search?.find((s) => s.word === w)?.latency?.p50Ms)]),
        ),
      },
      targetsMet: {
        metadataFetch: fetchRatio === undefined ? null : fetchRatio >= TARGETS.fetchRatio,
        download: downloadRatio === undefined ? null : downloadRatio >= TARGETS.downloadRatio,
        search: coffer.search === undefined ? null : coffer.search.every((s) => (s.latency?.p50Ms ?? Infinity) <= TARGETS.searchMs),
        idleRss: coffer.idle === undefined ? null : mb(coffer.idle.withSessions.rssKiB) <= TARGETS.idleRssMB && coffer.idle.opened === coffer.idle.sessions,
      },
      coffer: {
        ...coffer,
        import: cofferSetup?.import,
        inboxMessages: cofferSetup?.inboxMessages,
        rssAtStartMiB: cofferSetup === undefined ? undefined : mib(cofferSetup.rssAtStartKiB),
        stop: stops['coffer'],
      },
      dovecot: {
        ...dovecot,
        version: dovecotSetup?.version,
        rssAtStartMiB: dovecotSetup === undefined ? undefined : mib(dovecotSetup.rssAtStartKiB),
        setup: 'dovecot -F -c <own config>: imaps on loopback only, passwd-file (PLAIN), Maildir INBOX with INDEX and CONTROL in their own directories, mail processes as nobody, default login service (one imap-login process per TLS connection), no FTS plugin',
        stop: stops['dovecot'],
      },
      comparison,
      problems,
    };
    printReport({
      rssAtStartKiB: { ...(cofferSetup ? { coffer: cofferSetup.rssAtStartKiB } : {}), ...(dovecotSetup ? { dovecot: dovecotSetup.rssAtStartKiB } : {}) },
      messages: maildir.messages, bytes: maildir.bytes, coffer, dovecot, comparison, sessions: options.sessions, problems });
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`results written to ${options.out}\n`);
  } finally {
    // On any failure above: never leave a server running.
    for (const setup of [cofferSetup, dovecotSetup]) {
      if (setup !== undefined && setup.server.child.exitCode === null && setup.server.child.signalCode === null) setup.server.child.kill('SIGKILL');
    }
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
