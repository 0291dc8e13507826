// Search benchmark (issue 4): on the SpamAssassin corpus (default) or an amplified mbox of N
// messages, measures
//   1. `coffer import mbox` with the search index (the built CLI, from a snapshot of dist/): wall
//      time, msg/s, peak RSS, and the data directory after the next open (`coffer stats`);
//   2. the same import with the build from before search existed (commit ccefa46, in a git worktree
//      under bench/.work/baseline): ingest slowdown and index bytes = the difference of the two data
//      directories;
//   3. query latency in process (the same build), warm cache: `coffer.search({ query, limit: 50 })`
//      (total + the first 50 newest first) for the fixed query set below, p50/p95/max over R runs;
//   4. notmuch (0.37, Debian package) on the same messages as a Maildir: `notmuch new` speed, index
//      size (also after `notmuch compact`), and `notmuch count` + `notmuch search --limit=50` for
//      the equivalent queries, as spawned processes (a `notmuch --version` spawn is timed too).
// Prints a markdown table and writes bench/results/search-<corpus|N>.json.
// CLI: node --import=tsx bench/search.ts [--messages N] [--skip-notmuch] [--skip-baseline] [--runs R]

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeAmplified, writeMaildir, writeMbox, type CorpusInfo, type MaildirInfo } from './corpus.js';
import type { SearchRequest, SearchResponse } from '../src/search/search.js';
import { benchOptions, builtModule, cached, numberOption, parseJson, percentile } from './common.js';
import { cofferNodeFlags, machine, machineBusySeconds, ROOT, round, snapshotDist, waitIdle } from './machine.js';

/**
 * The fixed query set: Coffer's quick-search syntax and the notmuch equivalent (null: none). Words
 * chosen from the SpamAssassin corpus (6,046 messages); the comments give the matching messages
 * there, Coffer / notmuch (see bench/README.md, "Search"). The amplified corpus cycles through the
 * same bodies (each ~N/6,046 times) with synthetic From/To (`User 123 <user123@example.org>`) and
 * Dates spread over 2015-2025, so the from: and date-bounded queries have a variant for it.
 */
interface QueryVariant {
  coffer: string;
  notmuch: string | null;
  /** Date range of the request: since inclusive, before exclusive (UTC midnight). */
  since?: string;
  before?: string;
}

interface QuerySpec {
  name: string;
  corpus: QueryVariant;
  /** When the amplified corpus needs other terms; else `corpus` is used for both. */
  amplified?: QueryVariant;
}

const QUERIES: QuerySpec[] = [
  // 1,470 / 1,470 (24%)
  { name: 'single word', corpus: { coffer: 'free', notmuch: 'free' } },
  // 5 / 5 (×~N/6,046 in the amplified corpus: every body recurs there)
  { name: 'rare word', corpus: { coffer: 'astrophysics', notmuch: 'astrophysics' } },
  // 839 / 861 (14%)
  { name: 'phrase', corpus: { coffer: '"click here"', notmuch: '"click here"' } },
  // ~260 distinct terms start with 'comp'; 2,212 / 2,224 messages
  { name: 'prefix', corpus: { coffer: 'comp*', notmuch: 'comp*' } },
  // ~480 distinct (address) terms end with 'yahoo.com'; 405 messages; Xapian has no leading wildcard
  { name: 'suffix', corpus: { coffer: '*yahoo.com', notmuch: null } },
  // 170 / 170 (against 1,470 for the word anywhere)
  { name: 'field subject:', corpus: { coffer: 'subject:free', notmuch: 'subject:free' } },
  // 295 / 295; the amplified From is `User n <usern@example.org>`, ~N/5,000 messages per user
  {
    name: 'field from:',
    corpus: { coffer: 'from:hotmail', notmuch: 'from:hotmail' },
    amplified: { coffer: 'from:user42', notmuch: 'from:user42' },
  },
  // 764 / 736
  { name: 'exclusion', corpus: { coffer: 'free -click', notmuch: 'free and not click' } },
  // corpus: August 2002, the busiest month (~1,650 of the Dates), 384 / 392; amplified: Dates are
  // uniform over 2015-2025, so a month holds ~N/132 messages (35 / 35 at 20,000)
  {
    name: 'date-bounded',
    corpus: { coffer: 'free', notmuch: 'free date:2002-08-01..2002-08-31', since: '2002-08-01', before: '2002-09-01' },
    amplified: { coffer: 'free', notmuch: 'free date:2020-06-01..2020-06-30', since: '2020-06-01', before: '2020-07-01' },
  },
];

/** The last commit before search existed: the ingest baseline. */
const BASELINE_COMMIT = 'ccefa46';
/** Same value as in bench/import.ts, so both scripts reuse the same cached corpora. */
const TIME = '/usr/bin/time';
const LIMIT = 50;
const WARMUP_RUNS = 2;

/** Issue 4's targets, at 300,000 messages, warm cache. */
const TARGETS = { p50Ms: 20, p95Ms: 100, indexRatio: 0.6, ingestMessagesPerSecond: 1500 };

interface Options {
  messages: number;
  skipNotmuch: boolean;
  skipBaseline: boolean;
  runs: number;
  /** A query stops after this many seconds of timed runs (at least 5 runs), to bound slow ones. */
  queryBudgetSeconds: number;
  main: string | undefined;
  build: boolean;
  work: string;
  out: string | undefined;
  timeoutSeconds: number;
  waitIdleSeconds: number;
}

function parseOptions(argv: string[]): Options {
  const values = benchOptions(
    argv,
    {
      messages: { type: 'string' },
      'skip-notmuch': { type: 'boolean' },
      'skip-baseline': { type: 'boolean' },
      runs: { type: 'string' },
      'query-budget': { type: 'string' },
      main: { type: 'string' },
      'no-build': { type: 'boolean' },
      work: { type: 'string' },
      out: { type: 'string' },
      timeout: { type: 'string' },
      'wait-idle': { type: 'string' },
    },
    'usage: node --import=tsx bench/search.ts [--messages N] [--skip-notmuch] [--skip-baseline] [--runs R]\n' +
      '                                          [--query-budget S] [--main dist/main.js] [--no-build]\n' +
      '                                          [--work DIR] [--out FILE] [--timeout S] [--wait-idle S]\n',
  );
  const options: Options = {
    messages: numberOption(values.messages, 0),
    skipNotmuch: values['skip-notmuch'] === true,
    skipBaseline: values['skip-baseline'] === true,
    runs: numberOption(values.runs, 30),
    queryBudgetSeconds: numberOption(values['query-budget'], 60),
    main: values.main === undefined ? undefined : resolve(values.main),
    build: values['no-build'] !== true,
    work: resolve(values.work ?? join(ROOT, 'bench', '.work')),
    out: values.out === undefined ? undefined : resolve(values.out),
    timeoutSeconds: numberOption(values.timeout, 3600),
    waitIdleSeconds: numberOption(values['wait-idle'], 120),
  };
  if (!Number.isInteger(options.messages) || options.messages < 0) throw new Error('--messages needs an integer ≥ 0');
  if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error('--runs needs a positive integer');
  return options;
}

// --- small helpers --------------------------------------------------------------------------------



interface Latency {
  runs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    runs: sorted.length,
    p50Ms: round(percentile(sorted, 50), 2),
    p95Ms: round(percentile(sorted, 95), 2),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN, 2),
  };
}

/** Bytes of a directory tree as `du -sb` counts them (apparent sizes, directories included). */
function du(path: string): number {
  const out = spawnSync('du', ['-sb', path], { encoding: 'utf8', timeout: 600_000 });
  return out.status === 0 ? Number(out.stdout.split('\t')[0]) : Number.NaN;
}


const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
const num = (value: unknown, key: string): number | undefined => {
  const v = field(value, key);
  return typeof v === 'number' ? v : undefined;
};

interface RunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  wallSeconds: number;
  /** GNU time's ru_maxrss of the command (its threads included), MiB; NaN without GNU time. */
  peakRssMiB: number;
  /** User + system CPU seconds of the command (GNU time). */
  cpuSeconds: number;
  /** CPU seconds the rest of the machine used meanwhile (see bench/README.md, "other CPU s"). */
  otherCpuSeconds: number;
  stdout: string;
  stderrTail: string;
}

/**
 * Runs a command under GNU time (peak RSS, CPU) in its own process group, which a timeout kills
 * whole (killing only the `time` wrapper would leave the command running).
 */
async function run(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutSeconds: number; work: string },
): Promise<RunResult> {
  const useTime = existsSync(TIME);
  const timeFile = join(options.work, `search-time.${process.pid}.txt`);
  const busyBefore = await machineBusySeconds();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const child = spawn(useTime ? TIME : command, useTime ? ['-f', '%M %U %S', '-o', timeFile, command, ...args] : args, {
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout = (stdout + d).slice(-(8 << 20));
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-8192);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, options.timeoutSeconds * 1000);
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolveExit, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolveExit([code, sig]));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  clearTimeout(timer);
  const busy = (await machineBusySeconds()) - busyBefore;
  const own = process.cpuUsage(ownBefore);
  let peakRssMiB = Number.NaN;
  let cpuSeconds = Number.NaN;
  if (useTime) {
    const last = (await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n').pop() ?? '';
    const [kib, user, sys] = last.split(' ').map(Number);
    if (kib !== undefined && kib > 0) peakRssMiB = kib / 1024;
    if (user !== undefined && sys !== undefined) cpuSeconds = user + sys;
    await rm(timeFile, { force: true });
  }
  return {
    exitCode,
    signal,
    timedOut,
    wallSeconds,
    peakRssMiB,
    cpuSeconds,
    otherCpuSeconds: Math.max(0, busy - cpuSeconds - (own.user + own.system) / 1e6),
    stdout,
    stderrTail: stderr,
  };
}

function failed(result: RunResult): string | undefined {
  if (result.exitCode === 0 && !result.timedOut) return undefined;
  const how = result.timedOut ? 'timed out' : `exited ${result.exitCode ?? result.signal}`;
  return `${how}: ${result.stderrTail.trim().slice(-600)}`;
}

/** Newest modification time (ms) of the files under a directory. */
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/** dist/ must be built from the current src/: rebuild it when a source file is newer. */
async function ensureBuilt(options: Options): Promise<void> {
  const built = existsSync(join(ROOT, 'dist', 'main.js')) ? (await stat(join(ROOT, 'dist', 'main.js'))).mtimeMs : 0;
  if (built >= (await newestMtime(join(ROOT, 'src')))) return;
  if (!options.build) {
    process.stderr.write('warning: dist/ is older than src/ (--no-build: measuring it anyway)\n');
    return;
  }
  process.stderr.write('dist/ is older than src/: npm run build ...');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  if (result.status !== 0) {
    process.stderr.write(`\nnpm run build failed:\n${result.stdout}${result.stderr}\n`);
    process.exit(1);
  }
  process.stderr.write(' done\n');
}

/** Environment for Coffer's CLI: no config or data directory inherited from the caller. */
function cofferEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  delete env['COFFER_CONFIG'];
  delete env['COFFER_DATA'];
  return env;
}

// --- 1-2: ingest, with the index and without ------------------------------------------------------

interface Ingest {
  cli: string;
  wallSeconds: number;
  messagesPerSecond: number;
  mbPerSecond: number;
  peakRssMiB: number;
  cpuSeconds: number;
  otherCpuSeconds: number;
  summary: unknown;
  /** Data directory (du -sb) after the next open of the store (`coffer stats`). */
  dataDirBytes: number;
  dataDirRatio: number;
  /** The same, right after the import exited (includes the uncompacted LevelDB log). */
  dataDirBytesAtExit: number;
  /**
   * Coffer only: the same after the query session (open, index.ready(), queries, close) and one
   * more `coffer stats`: LevelDB has usually compacted further by then.
   */
  dataDirBytesAfterQueries?: number;
  dataDirRatioAfterQueries?: number;
  stats: unknown;
}

async function ingest(
  label: string,
  main: string,
  input: CorpusInfo,
  dataDir: string,
  options: Options,
  problems: string[],
): Promise<{ ingest: Ingest; config: string; dataDir: string } | undefined> {
  const config = `${dataDir}.yaml`;
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  await writeFile(config, `dataDir: ${JSON.stringify(dataDir)}\n`);
  const env = cofferEnv();
  const runOptions = { env, timeoutSeconds: options.timeoutSeconds, work: options.work };
  await waitIdle(options.waitIdleSeconds);
  process.stderr.write(`${label}: import of ${input.messages} messages (${(input.bytes / 1e6).toFixed(1)} MB) ...`);
  const result = await run(process.execPath, [...cofferNodeFlags(), main, 'import', 'mbox', input.path, '--archive', 'bench', '--config', config, '--json'], runOptions);
  process.stderr.write(` ${result.wallSeconds.toFixed(1)} s\n`);
  const failure = failed(result);
  if (failure !== undefined) {
    problems.push(`${label} import ${failure}`);
    return undefined;
  }
  const summary = parseJson(result.stdout);
  const accounted = ['archived', 'unparseable', 'alreadyArchived', 'failed'].reduce((sum, key) => sum + (num(summary, key) ?? 0), 0);
  if (accounted !== input.messages) problems.push(`${label} import accounted for ${accounted} messages, input has ${input.messages}`);
  const atExit = du(dataDir);
  const statsRun = await run(process.execPath, [...cofferNodeFlags(), main, 'stats', '--json', '--config', config], runOptions);
  const statsFailure = failed(statsRun);
  if (statsFailure !== undefined) problems.push(`${label} stats ${statsFailure}`);
  const bytes = du(dataDir);
  for (const key of ['flagged', 'failures']) {
    const list = field(summary, key);
    if (Array.isArray(list) && list.length > 5) (summary as Record<string, unknown>)[key] = [...list.slice(0, 5), `... ${list.length - 5} more`];
  }
  return {
    config,
    dataDir,
    ingest: {
      cli: main,
      wallSeconds: round(result.wallSeconds, 3),
      messagesPerSecond: round(input.messages / result.wallSeconds, 0),
      mbPerSecond: round(input.bytes / 1e6 / result.wallSeconds, 2),
      peakRssMiB: round(result.peakRssMiB, 1),
      cpuSeconds: round(result.cpuSeconds, 2),
      otherCpuSeconds: round(result.otherCpuSeconds, 1),
      summary,
      dataDirBytes: bytes,
      dataDirRatio: round(bytes / input.bytes, 4),
      dataDirBytesAtExit: atExit,
      stats: parseJson(statsRun.stdout),
    },
  };
}

/** The CLI as built at BASELINE_COMMIT, in a git worktree under the work directory (built once). */
function baselineMain(options: Options): string {
  const dir = join(options.work, 'baseline');
  const main = join(dir, 'dist', 'main.js');
  const marker = join(options.work, 'baseline.built');
  const sh = (command: string, args: string[], cwd: string, timeoutSeconds: number): string => {
    const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutSeconds * 1000 });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${result.stderr || result.error?.message}`);
    return result.stdout.trim();
  };
  if (existsSync(main) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === BASELINE_COMMIT) return main;
  if (!existsSync(dir)) {
    process.stderr.write(`baseline: git worktree add ${dir} ${BASELINE_COMMIT}\n`);
    sh('git', ['worktree', 'add', '--detach', dir, BASELINE_COMMIT], ROOT, 120);
  }
  const head = sh('git', ['rev-parse', 'HEAD'], dir, 30);
  if (!head.startsWith(BASELINE_COMMIT)) throw new Error(`${dir} is at ${head}, not ${BASELINE_COMMIT}: remove it (git worktree remove --force ${dir})`);
  process.stderr.write('baseline: npm ci && npm run build ...');
  sh('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], dir, 1200);
  sh('npm', ['run', 'build'], dir, 600);
  process.stderr.write(' done\n');
  writeFileSync(marker, `${BASELINE_COMMIT}\n`);
  return main;
}

// --- 3: Coffer queries in process -----------------------------------------------------------------

// The types of `coffer.search` (type-only: the code run is the snapshot's, loaded at run time, so
// that a build without it, a `--main` of an older commit, is reported instead of failing the run).
type SearchFn = (request: SearchRequest) => Promise<SearchResponse>;

interface QueryRun {
  query: string;
  total?: number;
  latency?: Latency;
  /** Problems with the answers themselves: not newest first, wrong length, dates out of range. */
  checks?: string[];
  error?: string;
}

/** The Coffer query as shown: the text, and the request's date range if any. */
function describe(variant: QueryVariant): string {
  return variant.since === undefined && variant.before === undefined ? variant.coffer : `${variant.coffer} [${variant.since ?? ''}, ${variant.before ?? ''})`;
}

function withTimeout<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkResponse(response: SearchResponse, request: SearchRequest): string[] {
  const problems: string[] = [];
  const expected = Math.min(LIMIT, response.total);
  if (response.results.length !== expected) problems.push(`${response.results.length} results for total ${response.total} (expected ${expected})`);
  const instants = response.results.map((r) => (r.date === null ? null : Date.parse(r.date)));
  let previous = Number.POSITIVE_INFINITY;
  for (const t of instants) {
    if (t === null || Number.isNaN(t)) continue;
    if (t > previous) {
      problems.push('results not newest first');
      break;
    }
    previous = t;
  }
  const outside = instants.filter(
    (t) => t !== null && ((request.since !== undefined && t < request.since.getTime()) || (request.before !== undefined && t >= request.before.getTime())),
  );
  if (outside.length > 0) problems.push(`${outside.length} results dated outside the requested range`);
  return problems;
}

/**
 * Queries in this process through the modules of the CLI under test (`builtModule`), so that the
 * code answering them is the build that wrote the index, not src/ as it is by now.
 */
async function cofferQueries(
  main: string,
  config: string,
  variants: QueryVariant[],
  options: Options,
): Promise<{ available: boolean; note?: string; runs: QueryRun[]; indexReadySeconds?: number; indexMaintainSeconds?: number }> {
  let coffer: { close(): Promise<void> };
  let search: SearchFn | undefined;
  try {
    const { loadConfig } = await builtModule<typeof import('../src/config/index.js')>(main, 'config/index.js');
    const { openCoffer } = await builtModule<typeof import('../src/app.js')>(main, 'app.js');
    const opened = await openCoffer(loadConfig({ file: config, env: {}, cwd: ROOT }));
    coffer = opened;
    const candidate = (opened as unknown as { search?: unknown }).search;
    if (typeof candidate === 'function') search = (candidate as SearchFn).bind(opened);
  } catch (error) {
    const note = `cannot open the store with ${dirname(main)}/app.js: ${error instanceof Error ? error.message : String(error)}`;
    return { available: false, note, runs: variants.map((v) => ({ query: describe(v), error: note })) };
  }
  const runs: QueryRun[] = [];
  let readySeconds: number | undefined;
  let maintainSeconds: number | undefined;
  try {
    if (search === undefined) {
      const note = 'coffer.search does not exist at this commit: Coffer queries not measured';
      process.stderr.write(`${note}\n`);
      return { available: false, note, runs: variants.map((v) => ({ query: describe(v), error: note })) };
    }
    // Whatever the import left unindexed is indexed now, untimed (≈ 0 s when ingest indexed it all),
    // and the segment merges the import's exit interrupted are finished, as the daemon does in the
    // background after it starts: queries are measured on the index in its steady state.
    const index = (coffer as { index?: { ready?: () => Promise<void>; maintain?: () => Promise<void> } }).index;
    if (typeof index?.ready === 'function') {
      const started = performance.now();
      await withTimeout(index.ready(), options.timeoutSeconds);
      readySeconds = round((performance.now() - started) / 1000, 3);
      if (readySeconds > 1) process.stderr.write(`coffer: index.ready() took ${readySeconds} s after the import\n`);
    }
    if (typeof index?.maintain === 'function') {
      const started = performance.now();
      await withTimeout(index.maintain(), options.timeoutSeconds);
      maintainSeconds = round((performance.now() - started) / 1000, 3);
      process.stderr.write(`coffer: index.maintain() (merges left by the import) took ${maintainSeconds} s\n`);
    }
    await waitIdle(options.waitIdleSeconds);
    for (const variant of variants) {
      const request: SearchRequest = { query: variant.coffer, limit: LIMIT };
      if (variant.since !== undefined) request.since = new Date(`${variant.since}T00:00:00Z`);
      if (variant.before !== undefined) request.before = new Date(`${variant.before}T00:00:00Z`);
      const label = describe(variant);
      process.stderr.write(`coffer: ${label} ...`);
      const entry: QueryRun = { query: label };
      try {
        let response: SearchResponse | undefined;
        for (let i = 0; i < WARMUP_RUNS; i++) response = await withTimeout(search({ ...request }), options.timeoutSeconds);
        const samples: number[] = [];
        const totals = new Set<number>();
        const deadline = performance.now() + options.queryBudgetSeconds * 1000;
        for (let i = 0; i < options.runs && (i < 5 || performance.now() < deadline); i++) {
          const started = performance.now();
          response = await withTimeout(search({ ...request }), options.timeoutSeconds);
          samples.push(performance.now() - started);
          totals.add(response.total);
        }
        if (response !== undefined) {
          entry.total = response.total;
          entry.checks = checkResponse(response, request);
          if (totals.size > 1) entry.checks.push(`total varied between runs: ${[...totals].join(', ')}`);
        }
        entry.latency = latency(samples);
        process.stderr.write(` total ${entry.total}, p50 ${entry.latency.p50Ms} ms\n`);
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
        process.stderr.write(` failed: ${entry.error}\n`);
      }
      runs.push(entry);
    }
    return {
      available: true,
      runs,
      ...(readySeconds !== undefined ? { indexReadySeconds: readySeconds } : {}),
      ...(maintainSeconds !== undefined ? { indexMaintainSeconds: maintainSeconds } : {}),
    };
  } finally {
    await coffer.close();
  }
}

// --- 4: notmuch ---------------------------------------------------------------------------------

interface NotmuchQueryRun {
  query: string | null;
  total?: number;
  /** Lines `notmuch search --limit=50` printed: min(50, total) expected. */
  listed?: number;
  latency?: Latency;
  /** Per run: its time minus twice the `notmuch --version` spawn timed just before it. */
  withoutSpawn?: Latency;
  error?: string;
}

interface NotmuchResult {
  version: string;
  maildir: MaildirInfo;
  new: { wallSeconds: number; messagesPerSecond: number; peakRssMiB: number; cpuSeconds: number; otherCpuSeconds: number; indexed: number };
  /** du -sb of the Xapian directory right after `notmuch new`, and after `notmuch compact`. */
  databaseBytes: number;
  databaseRatio: number;
  compact?: { wallSeconds: number; databaseBytes: number; databaseRatio: number };
  /** `notmuch --version`, timed before every query run: starting a notmuch process; a run starts two. */
  spawn: Latency;
  queries: NotmuchQueryRun[];
}

async function runNotmuch(
  main: string,
  name: string,
  input: CorpusInfo,
  variants: QueryVariant[],
  options: Options,
  problems: string[],
): Promise<NotmuchResult | undefined> {
  const version = spawnSync('notmuch', ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) {
    problems.push('notmuch not installed (apt-get install -y notmuch): skipped');
    return undefined;
  }
  const maildirPath = join(options.work, `search-maildir-${name}`);
  const maildir = await cached(maildirPath, { kind: 'maildir', from: input.path, messages: input.messages, bytes: input.bytes }, () =>
    writeMaildir(main, input, maildirPath),
  );
  const root = join(options.work, `search-notmuch-${name}`);
  const xapian = join(root, 'xapian');
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const config = join(root, 'config');
  // No tags on new mail, no excluded tags, no flag synchronisation, no hooks: only the index.
  await writeFile(
    config,
    [
      '[database]',
      `path=${root}`,
      `mail_root=${maildir.path}`,
      `hook_dir=${join(root, 'no-hooks')}`,
      '[new]',
      'tags=',
      'ignore=',
      '[search]',
      'exclude_tags=',
      '[maildir]',
      'synchronize_flags=false',
      '[user]',
      'name=Bench',
      'primary_email=bench@example.org',
      '',
    ].join('\n'),
  );
  // TZ=UTC: notmuch reads date: ranges in local time; Coffer's ranges are UTC instants.
  const env: NodeJS.ProcessEnv = { ...process.env, NOTMUCH_CONFIG: config, TZ: 'UTC' };
  await waitIdle(options.waitIdleSeconds);
  process.stderr.write(`notmuch: notmuch new on ${maildir.messages} messages ...`);
  const indexed = await run('notmuch', ['new', '--quiet'], { env, timeoutSeconds: options.timeoutSeconds, work: options.work });
  process.stderr.write(` ${indexed.wallSeconds.toFixed(1)} s\n`);
  const failure = failed(indexed);
  if (failure !== undefined) {
    problems.push(`notmuch new ${failure}`);
    return undefined;
  }
  const notmuch = (args: string[]): { ok: boolean; stdout: string; stderr: string } => {
    const r = spawnSync('notmuch', args, { env, encoding: 'utf8', timeout: options.timeoutSeconds * 1000, maxBuffer: 64 << 20 });
    return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
  };
  const indexedCount = Number(notmuch(['count', '*']).stdout.trim());
  if (indexedCount !== maildir.messages) problems.push(`notmuch indexed ${indexedCount} of ${maildir.messages} messages`);
  const databaseBytes = du(xapian);

  await waitIdle(options.waitIdleSeconds);
  // Every timed run also times one `notmuch --version` just before, so that the start-up cost is
  // measured under the same machine load as the query it is subtracted from.
  const spawnSamples: number[] = [];
  const spawnOnce = (): number => {
    const started = performance.now();
    notmuch(['--version']);
    return performance.now() - started;
  };
  const queries: NotmuchQueryRun[] = [];
  for (const variant of variants) {
    const query = variant.notmuch;
    if (query === null) {
      queries.push({ query });
      continue;
    }
    process.stderr.write(`notmuch: ${query} ...`);
    const entry: NotmuchQueryRun = { query };
    const once = (): { total: number; listed: number } => {
      const counted = notmuch(['count', query]);
      const listed = notmuch(['search', '--output=messages', '--sort=newest-first', `--limit=${LIMIT}`, query]);
      if (!counted.ok || !listed.ok) throw new Error((counted.ok ? listed : counted).stderr.trim().slice(-300));
      return { total: Number(counted.stdout.trim()), listed: listed.stdout.split('\n').filter((l) => l !== '').length };
    };
    try {
      for (let i = 0; i < WARMUP_RUNS; i++) once();
      const samples: number[] = [];
      const withoutSpawn: number[] = [];
      const deadline = performance.now() + options.queryBudgetSeconds * 1000;
      let last = { total: 0, listed: 0 };
      for (let i = 0; i < options.runs && (i < 5 || performance.now() < deadline); i++) {
        const spawnMs = spawnOnce();
        const started = performance.now();
        last = once();
        const elapsed = performance.now() - started;
        samples.push(elapsed);
        spawnSamples.push(spawnMs);
        withoutSpawn.push(elapsed - 2 * spawnMs);
      }
      entry.total = last.total;
      entry.listed = last.listed;
      entry.latency = latency(samples);
      entry.withoutSpawn = latency(withoutSpawn);
      process.stderr.write(` total ${entry.total}, p50 ${entry.latency.p50Ms} ms\n`);
    } catch (error) {
      entry.error = error instanceof Error ? error.message : String(error);
      process.stderr.write(` failed: ${entry.error}\n`);
    }
    queries.push(entry);
  }

  process.stderr.write('notmuch: compact ...');
  const compacted = await run('notmuch', ['compact', '--quiet'], { env, timeoutSeconds: options.timeoutSeconds, work: options.work });
  process.stderr.write(` ${compacted.wallSeconds.toFixed(1)} s\n`);
  const compactFailure = failed(compacted);
  if (compactFailure !== undefined) problems.push(`notmuch compact ${compactFailure}`);
  const compactBytes = du(xapian);
  return {
    version: version.stdout.trim(),
    maildir,
    new: {
      wallSeconds: round(indexed.wallSeconds, 3),
      messagesPerSecond: round(maildir.messages / indexed.wallSeconds, 0),
      peakRssMiB: round(indexed.peakRssMiB, 1),
      cpuSeconds: round(indexed.cpuSeconds, 2),
      otherCpuSeconds: round(indexed.otherCpuSeconds, 1),
      indexed: indexedCount,
    },
    databaseBytes,
    databaseRatio: round(databaseBytes / input.bytes, 4),
    ...(compactFailure === undefined
      ? { compact: { wallSeconds: round(compacted.wallSeconds, 2), databaseBytes: compactBytes, databaseRatio: round(compactBytes / input.bytes, 4) } }
      : {}),
    spawn: latency(spawnSamples),
    queries,
  };
}

// --- 5: report ------------------------------------------------------------------------------------

const pct = (ratio: number): string => (Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)}%` : 'n/a');
const ms = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? 'n/a' : value < 10 ? value.toFixed(2) : value.toFixed(1));
const times = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(value < 10 ? 2 : 1)}×`);
const count = (value: number | undefined): string => (value === undefined ? 'n/a' : value.toLocaleString('en-US'));

interface Index {
  /** Coffer's data directory minus the baseline's, both after the next open (`coffer stats`). */
  bytes: number;
  /** ÷ raw input bytes. */
  ratio: number;
  /** The same with Coffer's data directory after the query session. */
  bytesAfterQueries?: number;
  ratioAfterQueries?: number;
  /** Baseline msg/s ÷ Coffer msg/s. */
  ingestSlowdown: number;
}

interface QueryRow {
  name: string;
  coffer: QueryRun;
  notmuch?: NotmuchQueryRun;
  /** notmuch p50 ÷ Coffer p50: how many times faster Coffer answers (> 1: Coffer faster). */
  ratio?: number;
  /** notmuch's p50 without process start-up (each run minus two `notmuch --version` spawns) ÷ Coffer p50. */
  ratioWithoutSpawn?: number;
}

function printReport(report: {
  name: string;
  input: CorpusInfo;
  coffer: Ingest | undefined;
  baseline: Ingest | undefined;
  index: Index | undefined;
  rows: QueryRow[];
  notmuch: NotmuchResult | undefined;
  cofferNote: string | undefined;
  problems: string[];
}): void {
  const out: string[] = [];
  const { input, coffer, baseline, index, notmuch } = report;
  out.push(`## Search benchmark: ${report.name} (${count(input.messages)} messages, ${(input.bytes / 1e6).toFixed(1)} MB raw)`, '');
  out.push('| query | Coffer query | Coffer total | p50 ms | p95 ms | max ms | notmuch total | notmuch p50 ms | p95 ms | ratio | ratio w/o spawn |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of report.rows) {
    const c = row.coffer;
    const n = row.notmuch;
    out.push(
      `| ${row.name} | \`${c.query}\` | ${count(c.total)} | ${ms(c.latency?.p50Ms)} | ${ms(c.latency?.p95Ms)} | ${ms(c.latency?.maxMs)} | ` +
        `${n?.query === null || n === undefined ? 'n/a' : count(n.total)} | ${ms(n?.latency?.p50Ms)} | ${ms(n?.latency?.p95Ms)} | ` +
        `${times(row.ratio)} | ${times(row.ratioWithoutSpawn)} |`,
    );
  }
  out.push('');
  if (report.cofferNote !== undefined) out.push(`Coffer queries: ${report.cofferNote}`, '');
  const ingestLine = (label: string, i: Ingest): string =>
    `${label}: ${i.wallSeconds.toFixed(2)} s, ${count(i.messagesPerSecond)} msg/s, ${i.mbPerSecond.toFixed(2)} MB/s, ` +
    `CPU ${i.cpuSeconds.toFixed(1)} s (other ${i.otherCpuSeconds.toFixed(1)} s), peak RSS ${i.peakRssMiB.toFixed(0)} MiB, ` +
    `data dir ${(i.dataDirBytes / 1e6).toFixed(1)} MB = ${pct(i.dataDirRatio)} of raw` +
    (i.dataDirBytesAfterQueries !== undefined
      ? ` (after the query session ${(i.dataDirBytesAfterQueries / 1e6).toFixed(1)} MB = ${pct(i.dataDirRatioAfterQueries ?? Number.NaN)})`
      : '');
  if (coffer !== undefined) out.push(`- ${ingestLine('Coffer import with index', coffer)}`);
  if (baseline !== undefined) out.push(`- ${ingestLine(`baseline import (${BASELINE_COMMIT}, no index)`, baseline)}`);
  if (index !== undefined) {
    out.push(
      `- index: ${(index.bytes / 1e6).toFixed(1)} MB = ${pct(index.ratio)} of raw input bytes (target ≤ ${pct(TARGETS.indexRatio)})` +
        (index.bytesAfterQueries !== undefined
          ? `, after the query session ${(index.bytesAfterQueries / 1e6).toFixed(1)} MB = ${pct(index.ratioAfterQueries ?? Number.NaN)}`
          : '') +
        '; ' +
        `ingest slowdown ${times(index.ingestSlowdown)} (baseline msg/s ÷ Coffer msg/s)`,
    );
  }
  if (notmuch !== undefined) {
    out.push(
      `- notmuch new: ${notmuch.new.wallSeconds.toFixed(2)} s, ${count(notmuch.new.messagesPerSecond)} msg/s, CPU ${notmuch.new.cpuSeconds.toFixed(1)} s ` +
        `(other ${notmuch.new.otherCpuSeconds.toFixed(1)} s), peak RSS ${notmuch.new.peakRssMiB.toFixed(0)} MiB; ` +
        `database ${(notmuch.databaseBytes / 1e6).toFixed(1)} MB = ${pct(notmuch.databaseRatio)} of raw` +
        (notmuch.compact !== undefined
          ? `, after notmuch compact (${notmuch.compact.wallSeconds.toFixed(1)} s) ${(notmuch.compact.databaseBytes / 1e6).toFixed(1)} MB = ${pct(notmuch.compact.databaseRatio)}`
          : ''),
    );
    out.push(
      `- notmuch query times are two spawned processes (count + search); one \`notmuch --version\` spawn: ` +
        `p50 ${ms(notmuch.spawn.p50Ms)} ms, p95 ${ms(notmuch.spawn.p95Ms)} ms`,
    );
    if (coffer !== undefined) {
      out.push(`- ingest, Coffer with index ÷ notmuch new: ${times(coffer.messagesPerSecond / notmuch.new.messagesPerSecond)} the msg/s`);
    }
  }
  const measured = report.rows.filter((r) => r.coffer.latency !== undefined);
  if (measured.length > 0) {
    const worstP50 = Math.max(...measured.map((r) => r.coffer.latency?.p50Ms ?? 0));
    const worstP95 = Math.max(...measured.map((r) => r.coffer.latency?.p95Ms ?? 0));
    out.push(
      `- targets (defined at 300,000 messages): worst p50 ${ms(worstP50)} ms (≤ ${TARGETS.p50Ms}), worst p95 ${ms(worstP95)} ms (≤ ${TARGETS.p95Ms})` +
        (coffer !== undefined ? `, ingest ${count(coffer.messagesPerSecond)} msg/s (≥ ${count(TARGETS.ingestMessagesPerSecond)})` : ''),
    );
  }
  for (const row of report.rows) {
    for (const check of row.coffer.checks ?? []) out.push(`- CHECK ${row.name}: ${check}`);
    if (row.coffer.error !== undefined && report.cofferNote === undefined) out.push(`- ERROR ${row.name} (Coffer): ${row.coffer.error}`);
    if (row.notmuch?.error !== undefined) out.push(`- ERROR ${row.name} (notmuch): ${row.notmuch.error}`);
    const a = row.coffer.total;
    const b = row.notmuch?.total;
    if (a !== undefined && b !== undefined && Math.abs(a - b) > Math.max(5, 0.2 * Math.max(a, b))) {
      out.push(`- NOTE ${row.name}: totals differ by more than 20% (Coffer ${count(a)}, notmuch ${count(b)})`);
    }
  }
  for (const problem of report.problems) out.push(`- PROBLEM: ${problem}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await mkdir(options.work, { recursive: true });
  const name = options.messages === 0 ? 'corpus' : String(options.messages);
  const out = options.out ?? join(ROOT, 'bench', 'results', `search-${name}.json`);
  const problems: string[] = [];

  let main = options.main;
  if (main === undefined) {
    await ensureBuilt(options);
    main = await snapshotDist(options.work, 'dist-snapshot-search');
  }
  let input: CorpusInfo;
  if (options.messages === 0) {
    const path = join(options.work, 'corpus.mbox');
    input = await cached(path, { kind: 'mbox' }, () => writeMbox(path));
  } else {
    const path = join(options.work, `amplified-${options.messages}.mbox`);
    input = await cached(path, { kind: 'amplified', n: options.messages, seed: 1 }, () => writeAmplified(path, options.messages, 1));
  }
  const variants = QUERIES.map((q) => (options.messages > 0 ? (q.amplified ?? q.corpus) : q.corpus));

  let baseline: Ingest | undefined;
  if (!options.skipBaseline) {
    try {
      const baselineCli = baselineMain(options);
      baseline = (await ingest('baseline', baselineCli, input, join(options.work, `search-data-baseline-${name}`), options, problems))?.ingest;
    } catch (error) {
      problems.push(`baseline: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const indexed = await ingest('coffer', main, input, join(options.work, `search-data-coffer-${name}`), options, problems);
  const coffer = indexed?.ingest;
  // Any index size `coffer stats --json` reports itself (none so far): every top-level key naming one.
  const statsIndex = Object.fromEntries(Object.entries((coffer?.stats ?? {}) as Record<string, unknown>).filter(([k]) => /index/i.test(k)));

  const queried = indexed !== undefined ? await cofferQueries(main, indexed.config, variants, options) : undefined;
  if (indexed !== undefined && queried?.available === true) {
    // Reopened once more: a close right after a LevelDB compaction leaves its inputs on disk until
    // the next open deletes them (measured: 27.8 MB -> 47.0 MB on the corpus without this).
    const reopen = await run(process.execPath, [...cofferNodeFlags(), main, 'stats', '--json', '--config', indexed.config], {
      env: cofferEnv(),
      timeoutSeconds: options.timeoutSeconds,
      work: options.work,
    });
    const reopenFailure = failed(reopen);
    if (reopenFailure !== undefined) problems.push(`stats after the queries ${reopenFailure}`);
    indexed.ingest.dataDirBytesAfterQueries = du(indexed.dataDir);
    indexed.ingest.dataDirRatioAfterQueries = round(indexed.ingest.dataDirBytesAfterQueries / input.bytes, 4);
  }
  let index: Index | undefined;
  if (coffer !== undefined && baseline !== undefined) {
    index = {
      bytes: coffer.dataDirBytes - baseline.dataDirBytes,
      ratio: round((coffer.dataDirBytes - baseline.dataDirBytes) / input.bytes, 4),
      ingestSlowdown: round(baseline.messagesPerSecond / coffer.messagesPerSecond, 3),
    };
    if (coffer.dataDirBytesAfterQueries !== undefined) {
      index.bytesAfterQueries = coffer.dataDirBytesAfterQueries - baseline.dataDirBytes;
      index.ratioAfterQueries = round(index.bytesAfterQueries / input.bytes, 4);
    }
  }
  const cofferRuns: QueryRun[] = queried?.runs ?? variants.map((v) => ({ query: describe(v), error: 'no store (import failed)' }));
  const notmuch = options.skipNotmuch ? undefined : await runNotmuch(main, name, input, variants, options, problems);

  const rows: QueryRow[] = QUERIES.map((spec, i) => {
    const c = cofferRuns[i] ?? { query: '' };
    const n = notmuch?.queries[i];
    const row: QueryRow = { name: spec.name, coffer: c };
    if (n !== undefined) row.notmuch = n;
    const cp50 = c.latency?.p50Ms;
    const np50 = n?.latency?.p50Ms;
    if (cp50 !== undefined && np50 !== undefined && cp50 > 0) {
      row.ratio = round(np50 / cp50, 2);
      const bare = n?.withoutSpawn?.p50Ms;
      if (bare !== undefined && bare > 0) row.ratioWithoutSpawn = round(bare / cp50, 2);
    }
    return row;
  });
  const results = {
    machine: machine(),
    command: `node --import=tsx bench/search.ts ${process.argv.slice(2).join(' ')}`.trim(),
    cli: options.main ?? 'snapshot of dist/ taken at start',
    queriesRunFrom: 'the same build as the CLI (app.js beside its main.js), in this process',
    targets: TARGETS,
    input,
    runs: options.runs,
    limit: LIMIT,
    coffer: coffer !== undefined ? { ...coffer, statsIndexFields: statsIndex } : undefined,
    baseline: baseline !== undefined ? { ...baseline, commit: BASELINE_COMMIT } : undefined,
    index,
    cofferQueries: {
      available: queried?.available ?? false,
      note: queried?.note,
      indexReadySeconds: queried?.indexReadySeconds,
      indexMaintainSeconds: queried?.indexMaintainSeconds,
    },
    queries: rows.map((row, i) => ({ ...row, variant: variants[i] })),
    notmuch: notmuch !== undefined ? { ...notmuch, queries: undefined } : undefined,
    problems,
  };
  printReport({ name, input, coffer, baseline, index, rows, notmuch, cofferNote: queried?.note, problems });
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`results written to ${out}\n`);
}

await main();
