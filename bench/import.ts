// Import benchmark: runs the built CLI (`node dist/main.js import ... --json`) as a child process on
// the SpamAssassin corpus as an eml directory, as one mbox, and as an amplified mbox of N messages,
// each into a fresh data directory; measures wall time, messages/s, MB/s, the child's peak RSS, the
// data directory's size against the raw input, an idempotent re-run and `coffer verify`. Optionally
// times `notmuch new` on the same messages. Prints a table and writes bench/results/import.json.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { corpusFiles, splitPostmark, writeAmplified, writeEmlDir, writeMbox, type CorpusInfo } from './corpus.js';
import { benchOptions, cached, numberOption, parseJson } from './common.js';
import { cofferNodeFlags, machine, machineBusySeconds, ROOT, round, snapshotDist, waitIdle } from './machine.js';

const TIME = '/usr/bin/time';
/** Bumped when corpus generation changes, so cached corpora under the work directory are rebuilt. */

interface Options {
  /** The CLI entry; by default a snapshot of dist/ taken at start, so a concurrent rebuild cannot change it mid-run. */
  main: string | undefined;
  amplified: number;
  skipAmplified: boolean;
  notmuch: boolean;
  work: string;
  out: string;
  timeoutSeconds: number;
  waitIdleSeconds: number;
}

interface RunResult {
  exitCode: number | null;
  signal: string | null;
  wallSeconds: number;
  /** Peak RSS in MiB: GNU time's ru_maxrss when available, else the polled VmHWM. */
  peakRssMiB: number;
  /** Highest sum of VmRSS over the child and its descendants seen by polling every 100 ms. */
  polledRssMiB: number;
  /** RSS of the tree (MiB) once a second, to tell a steady state from growth. */
  rssTimelineMiB: number[];
  /** The child's user + system CPU seconds (GNU time), or NaN without it. */
  cpuSeconds: number;
  /** CPU seconds the rest of the machine used meanwhile: other processes competing for the 2 cores. */
  otherCpuSeconds: number;
  stdout: string;
  stderrTail: string;
}

interface Phase {
  wallSeconds: number;
  exitCode: number | null;
  peakRssMiB: number;
  cpuSeconds: number;
  otherCpuSeconds: number;
  summary: unknown;
}

interface DirSize {
  bytes: number;
  allocatedBytes: number;
  files: number;
  ratio: number;
}

interface Scenario {
  name: string;
  input: CorpusInfo;
  import: Phase & {
    messagesPerSecond: number;
    mbPerSecond: number;
    polledRssMiB: number;
    rssTimelineMiB: number[];
    reportedSeconds?: number;
  };
  /**
   * Data directory after the next open of the store (`coffer stats`), when LevelDB has turned its
   * write-ahead log (up to 2 × writeBufferSize of uncompacted writes) into tables: the settled size.
   */
  dataDir: DirSize;
  /** The same, right after the import exited: includes that log. */
  dataDirAfterImport: DirSize;
  stats: unknown;
  rerun: Phase & { archivedAgain: number | undefined };
  verify: Phase;
  problems: string[];
}

function parseOptions(argv: string[]): Options {
  const values = benchOptions(
    argv,
    {
      amplified: { type: 'string' },
      'skip-amplified': { type: 'boolean' },
      notmuch: { type: 'boolean' },
      work: { type: 'string' },
      out: { type: 'string' },
      timeout: { type: 'string' },
      'wait-idle': { type: 'string' },
      main: { type: 'string' },
    },
    'usage: node --import=tsx bench/import.ts [--amplified N] [--skip-amplified] [--notmuch]\n' +
      '                                          [--work DIR] [--out FILE] [--timeout SECONDS]\n' +
      '                                          [--wait-idle SECONDS] [--main dist/main.js]\n',
  );
  const options: Options = {
    amplified: numberOption(values.amplified, 100_000),
    skipAmplified: values['skip-amplified'] === true,
    notmuch: values.notmuch === true,
    work: resolve(values.work ?? join(ROOT, 'bench', '.work')),
    out: resolve(values.out ?? join(ROOT, 'bench', 'results', 'import.json')),
    timeoutSeconds: numberOption(values.timeout, 3600),
    waitIdleSeconds: numberOption(values['wait-idle'], 120),
    main: values.main === undefined ? undefined : resolve(values.main),
  };
  if (!Number.isInteger(options.amplified) || options.amplified <= 0) throw new Error('--amplified needs a positive integer');
  return options;
}




/** The pid and every descendant, from /proc/<pid>/task/<tid>/children. */
async function processTree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i];
    if (p === undefined) continue;
    try {
      for (const tid of await readdir(`/proc/${p}/task`)) {
        const children = await readFile(`/proc/${p}/task/${tid}/children`, 'utf8');
        for (const c of children.split(' ')) if (c.trim() !== '') out.push(Number(c));
      }
    } catch {
      // exited between listing and reading
    }
  }
  return out;
}

/** VmRSS and VmHWM of one process in KiB (0 once it has gone). */
async function memoryOf(pid: number): Promise<{ rss: number; hwm: number; name: string }> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: field('VmRSS'), hwm: field('VmHWM'), name: /^Name:\s+(\S+)/m.exec(status)?.[1] ?? '' };
  } catch {
    return { rss: 0, hwm: 0, name: '' };
  }
}

/**
 * Runs `node dist/main.js ...args` and measures it. Under GNU time (when installed) the exact peak
 * RSS comes from the kernel's ru_maxrss; polling /proc every 100 ms also sums the RSS of the whole
 * process tree, which matters if the CLI ever forks helpers (worker threads are already counted).
 */
async function runCoffer(main: string, args: string[], env: NodeJS.ProcessEnv, timeoutSeconds: number): Promise<RunResult> {
  const useTime = existsSync(TIME);
  const timeFile = join(env['BENCH_WORK'] ?? '/tmp', `time.${process.pid}.txt`);
  const command = useTime ? TIME : process.execPath;
  const argv = useTime ? ['-f', '%M %U %S', '-o', timeFile, process.execPath, ...cofferNodeFlags(), main, ...args] : [...cofferNodeFlags(), main, ...args];
  const busyBefore = await machineBusySeconds();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const child = spawn(command, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (stdout.length > 64 << 20) stdout = stdout.slice(-(16 << 20)); // logs must not exhaust our memory
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-8192);
  });
  let polledKiB = 0;
  let hwmKiB = 0;
  let polling = true;
  const timeline: number[] = [];
  let nextSample = performance.now();
  const poll = async (): Promise<void> => {
    while (polling && child.pid !== undefined) {
      let sum = 0;
      for (const pid of await processTree(child.pid)) {
        const m = await memoryOf(pid);
        if (m.name === 'time') continue; // the wrapper is not Coffer
        sum += m.rss;
        if (m.name.startsWith('node')) hwmKiB = Math.max(hwmKiB, m.hwm);
      }
      polledKiB = Math.max(polledKiB, sum);
      if (performance.now() >= nextSample && sum > 0) {
        timeline.push(Math.round(sum / 1024));
        nextSample += 1000;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const poller = poll();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
  const [exitCode, signal] = await new Promise<[number | null, string | null]>((resolveExit) => {
    child.on('close', (code, sig) => resolveExit([code, sig]));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  clearTimeout(timer);
  polling = false;
  await poller;
  const busy = (await machineBusySeconds()) - busyBefore;
  const own = process.cpuUsage(ownBefore);
  let peakKiB = hwmKiB;
  let cpuSeconds = Number.NaN;
  if (useTime) {
    try {
      const lines = (await readFile(timeFile, 'utf8')).trim().split('\n');
      const [kib, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
      if (kib !== undefined && Number.isFinite(kib) && kib > 0) peakKiB = kib;
      if (user !== undefined && sys !== undefined) cpuSeconds = user + sys;
      await rm(timeFile, { force: true });
    } catch {
      // time wrote nothing (killed): keep the polled high-water mark
    }
  }
  return {
    rssTimelineMiB: timeline,
    cpuSeconds,
    otherCpuSeconds: Math.max(0, busy - cpuSeconds - (own.user + own.system) / 1e6),
    exitCode,
    signal,
    wallSeconds,
    peakRssMiB: peakKiB / 1024,
    polledRssMiB: polledKiB / 1024,
    stdout,
    stderrTail: stderr,
  };
}


/** Apparent size (like `du -sb`, files only) and allocated size (blocks) of a directory tree. */
async function treeSize(dir: string): Promise<{ bytes: number; allocatedBytes: number; files: number }> {
  let bytes = 0;
  let allocatedBytes = 0;
  let files = 0;
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else {
        const info = await lstat(path);
        bytes += info.size;
        allocatedBytes += info.blocks * 512;
        files++;
      }
    }
  };
  await walk(dir);
  return { bytes, allocatedBytes, files };
}

const num = (value: unknown, key: string): number | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[key];
  return typeof v === 'number' ? v : undefined;
};

function phase(run: RunResult, summary: unknown): Phase {
  return {
    wallSeconds: round(run.wallSeconds, 3),
    exitCode: run.exitCode,
    peakRssMiB: round(run.peakRssMiB, 1),
    cpuSeconds: round(run.cpuSeconds, 2),
    otherCpuSeconds: round(run.otherCpuSeconds, 1),
    summary,
  };
}


/** Summaries list at most 1,000 flagged messages; keep the results file readable. */
function trimSummary(summary: unknown): unknown {
  if (typeof summary !== 'object' || summary === null) return summary;
  const copy: Record<string, unknown> = { ...(summary as Record<string, unknown>) };
  for (const key of ['flagged', 'failures']) {
    const list = copy[key];
    if (Array.isArray(list) && list.length > 5) copy[key] = [...list.slice(0, 5), `... ${list.length - 5} more listed`];
  }
  return copy;
}

async function runScenario(name: string, input: CorpusInfo, importArgs: string[], options: Options, main: string): Promise<Scenario> {
  const dataDir = join(options.work, `data-${name}`);
  const config = join(options.work, `${name}.yaml`);
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  await writeFile(config, `dataDir: ${JSON.stringify(dataDir)}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_WORK: options.work, NODE_ENV: 'production' };
  delete env['COFFER_CONFIG'];
  delete env['COFFER_DATA'];
  const problems: string[] = [];
  const check = (run: RunResult, what: string): void => {
    if (run.exitCode !== 0) problems.push(`${what} exited ${run.exitCode ?? run.signal}: ${run.stderrTail.trim().slice(-500)}`);
  };

  await waitIdle(options.waitIdleSeconds);
  process.stderr.write(`${name}: import of ${input.messages} messages (${(input.bytes / 1e6).toFixed(1)} MB) ...`);
  const args = [...importArgs, '--archive', 'bench', '--config', config, '--json'];
  const first = await runCoffer(main, args, env, options.timeoutSeconds);
  process.stderr.write(` ${first.wallSeconds.toFixed(1)} s\n`);
  check(first, 'import');
  const summary = parseJson(first.stdout);
  const counted =
    (num(summary, 'archived') ?? 0) + (num(summary, 'unparseable') ?? 0) + (num(summary, 'alreadyArchived') ?? 0) + (num(summary, 'failed') ?? 0);
  if (counted !== input.messages) problems.push(`import accounted for ${counted} messages, input has ${input.messages}`);
  if ((num(summary, 'failed') ?? 0) > 0) problems.push(`${num(summary, 'failed')} messages failed`);

  const sizeAfterImport = await treeSize(dataDir);
  const statsRun = await runCoffer(main, ['stats', '--json', '--config', config], env, options.timeoutSeconds);
  check(statsRun, 'stats');
  const size = await treeSize(dataDir);

  process.stderr.write(`${name}: re-run ...`);
  const second = await runCoffer(main, args, env, options.timeoutSeconds);
  process.stderr.write(` ${second.wallSeconds.toFixed(1)} s\n`);
  check(second, 're-run');
  const rerunSummary = parseJson(second.stdout);
  const archivedAgain = num(rerunSummary, 'archived');
  if (archivedAgain !== 0 || (num(rerunSummary, 'unparseable') ?? 0) !== 0) {
    problems.push(`re-run archived ${archivedAgain} + ${num(rerunSummary, 'unparseable')} unparseable (expected 0)`);
  }

  process.stderr.write(`${name}: verify ...`);
  const verifyRun = await runCoffer(main, ['verify', '--json', '--config', config], env, options.timeoutSeconds);
  process.stderr.write(` ${verifyRun.wallSeconds.toFixed(1)} s\n`);
  check(verifyRun, 'verify');

  return {
    name,
    input,
    import: {
      ...phase(first, trimSummary(summary)),
      messagesPerSecond: round(input.messages / first.wallSeconds, 0),
      mbPerSecond: round(input.bytes / 1e6 / first.wallSeconds, 2),
      polledRssMiB: round(first.polledRssMiB, 1),
      rssTimelineMiB: first.rssTimelineMiB,
      ...(num(summary, 'seconds') !== undefined ? { reportedSeconds: num(summary, 'seconds') } : {}),
    },
    dataDir: { ...size, ratio: round(size.bytes / input.bytes, 3) },
    dataDirAfterImport: { ...sizeAfterImport, ratio: round(sizeAfterImport.bytes / input.bytes, 3) },
    stats: parseJson(statsRun.stdout),
    rerun: { ...phase(second, trimSummary(rerunSummary)), archivedAgain },
    verify: phase(verifyRun, trimSummary(parseJson(verifyRun.stdout))),
    problems,
  };
}

interface NotmuchResult {
  version: string;
  messages: number;
  wallSeconds: number;
  messagesPerSecond: number;
  peakRssMiB: number;
  databaseBytes: number;
  exitCode: number | null;
}

/**
 * `notmuch new` on the corpus as a Maildir (postmark lines stripped, as Coffer strips them), into a
 * fresh database: the peer the issue compares against. Returns undefined when notmuch is absent.
 */
async function runNotmuch(options: Options): Promise<NotmuchResult | undefined> {
  const which = spawnSync('notmuch', ['--version'], { encoding: 'utf8' });
  if (which.status !== 0) {
    process.stderr.write('notmuch: not installed (apt-get install -y notmuch), skipped\n');
    return undefined;
  }
  const root = join(options.work, 'notmuch');
  const maildir = join(root, 'mail');
  await rm(root, { recursive: true, force: true });
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir, sub), { recursive: true });
  const files = await corpusFiles();
  let n = 0;
  for (const file of files) {
    const { message } = splitPostmark(await readFile(file));
    await writeFile(join(maildir, 'cur', `${1_000_000 + n}.bench:2,S`), message);
    n++;
  }
  const config = join(root, 'config');
  await writeFile(config, `[database]\npath=${maildir}\n[new]\ntags=inbox\n[maildir]\nsynchronize_flags=false\n`);
  const env = { ...process.env, NOTMUCH_CONFIG: config };
  const useTime = existsSync(TIME);
  const timeFile = join(root, 'time.txt');
  await waitIdle(options.waitIdleSeconds);
  process.stderr.write(`notmuch: notmuch new on ${n} messages ...`);
  const started = performance.now();
  const child = spawn(useTime ? TIME : 'notmuch', useTime ? ['-f', '%M', '-o', timeFile, 'notmuch', 'new', '--quiet'] : ['new', '--quiet'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4096)));
  const exitCode = await new Promise<number | null>((r) => child.on('close', r));
  const wallSeconds = (performance.now() - started) / 1000;
  process.stderr.write(` ${wallSeconds.toFixed(1)} s\n`);
  if (exitCode !== 0) process.stderr.write(`notmuch new exited ${exitCode}: ${stderr}\n`);
  const peak = useTime ? Number((await readFile(timeFile, 'utf8').catch(() => '0')).trim().split('\n').pop()) : 0;
  const db = await treeSize(join(maildir, '.notmuch'));
  return {
    version: which.stdout.trim(),
    messages: n,
    wallSeconds: round(wallSeconds, 3),
    messagesPerSecond: round(n / wallSeconds, 0),
    peakRssMiB: round(peak / 1024, 1),
    databaseBytes: db.bytes,
    exitCode,
  };
}

function printTable(scenarios: Scenario[], notmuch: NotmuchResult | undefined): void {
  const header = ['scenario', 'msgs', 'raw MB', 'wall s', 'msg/s', 'MB/s', 'CPU s', 'other CPU s', 'peak RSS MiB', 'data/raw', '(at exit)', 'rerun s', 'verify s'];
  const rows = scenarios.map((s) => [
    s.name,
    String(s.input.messages),
    (s.input.bytes / 1e6).toFixed(1),
    s.import.wallSeconds.toFixed(2),
    String(s.import.messagesPerSecond),
    s.import.mbPerSecond.toFixed(2),
    s.import.cpuSeconds.toFixed(1),
    s.import.otherCpuSeconds.toFixed(1),
    s.import.peakRssMiB.toFixed(0),
    `${(s.dataDir.ratio * 100).toFixed(1)}%`,
    `${(s.dataDirAfterImport.ratio * 100).toFixed(1)}%`,
    s.rerun.wallSeconds.toFixed(2),
    s.verify.wallSeconds.toFixed(2),
  ]);
  if (notmuch !== undefined) {
    rows.push(['notmuch new (eml)', String(notmuch.messages), '', notmuch.wallSeconds.toFixed(2), String(notmuch.messagesPerSecond), '', '', '', notmuch.peakRssMiB.toFixed(0), '', '', '', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
  for (const s of scenarios) for (const p of s.problems) process.stdout.write(`PROBLEM ${s.name}: ${p}\n`);
}


async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await mkdir(options.work, { recursive: true });
  let main = options.main;
  main ??= await snapshotDist(options.work, 'dist-snapshot');
  const emlDir = join(options.work, 'corpus-eml');
  const mbox = join(options.work, 'corpus.mbox');
  const eml = await cached(emlDir, { kind: 'eml-dir' }, () => writeEmlDir(emlDir));
  const box = await cached(mbox, { kind: 'mbox' }, () => writeMbox(mbox));

  const scenarios: Scenario[] = [];
  scenarios.push(await runScenario('corpus-eml', eml, ['import', 'eml', emlDir], options, main));
  scenarios.push(await runScenario('corpus-mbox', box, ['import', 'mbox', mbox], options, main));
  if (!options.skipAmplified) {
    const amplifiedPath = join(options.work, `amplified-${options.amplified}.mbox`);
    const amplified = await cached(amplifiedPath, { kind: 'amplified', n: options.amplified, seed: 1 }, () =>
      writeAmplified(amplifiedPath, options.amplified, 1),
    );
    scenarios.push(await runScenario(`amplified-${options.amplified}`, amplified, ['import', 'mbox', amplifiedPath], options, main));
  }
  const notmuch = options.notmuch ? await runNotmuch(options) : undefined;
  const emlScenario = scenarios[0];
  const results = {
    machine: machine(),
    command: `node --import=tsx bench/import.ts ${process.argv.slice(2).join(' ')}`.trim(),
    cli: options.main ?? 'snapshot of dist/ taken at start',
    targets: { messagesPerSecond: 2000, dataDirRatio: 0.5, peakRssMiB100k: 300 },
    scenarios,
    ...(notmuch !== undefined
      ? {
          notmuch: {
            ...notmuch,
            cofferToNotmuchSpeed:
              emlScenario !== undefined ? round(emlScenario.import.messagesPerSecond / notmuch.messagesPerSecond, 2) : undefined,
          },
        }
      : {}),
  };
  printTable(scenarios, notmuch);
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`results written to ${options.out}\n`);
}

await main();
