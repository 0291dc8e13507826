// Archiving profiles benchmark (issue 6): one `kind: mailbox` profile pulling a whole mailbox from a
// private Dovecot 2.3 (test/integration/dovecot/harness.ts: passwd-file user, Maildir, implicit TLS
// on loopback) into a fresh Coffer store, and mbsync (isync 1.4) pulling the same mailbox from the
// same Dovecot into an empty Maildir, in the same run. The mailbox is the SpamAssassin corpus (6,046
// messages) or an amplified corpus of N messages (bench/corpus.ts), written as a Maildir once
// (cached) and hard-linked into the Dovecot user's Maildir before Dovecot first sees it (APPEND of
// 100,000 messages would take far longer than the pull being measured).
// Coffer runs in a child process of its own (this file, `--child`, from an esbuild transpile of
// src/ taken at start, plain node without tsx), so its RSS and CPU are its own: ProfileRunner.run()
// as the daemon calls it (the test harness's way: parseConfigText, openCoffer, new ProfileRunner),
// then a second run of the same profile (incremental, nothing new), then close().
// Measures wall time, messages/s, MB/s, CPU, peak RSS (VmRSS/RssAnon/RssFile polled every 100 ms
// from outside, the child's own process.memoryUsage() every 100 ms, and ru_maxrss), Dovecot's CPU,
// the rest of the machine's CPU; mbsync's wall time, CPU and ru_maxrss from GNU time. For
// reference, `coffer import maildir` of the same Maildir with the same build (the write path
// alone, no IMAP). Coffer's processes get MALLOC_ARENA_MAX=2, as systemd/coffer.service sets it.
// Writes bench/results/profiles-<messages>.json.
// CLI: node --import=tsx bench/profiles.ts [--messages corpus|N] [--skip-coffer] [--skip-mbsync]
//        [--skip-reference] [--mbsync-fsync yes|no] [--malloc-arena-max N] [--profile DIR]
//        [--work DIR] [--out FILE] [--wait-idle S] [--timeout S] [--clean]

import { spawn, spawnSync } from 'node:child_process';
import { chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchOptions, cached, numberOption, parseJson } from './common.js';
import { writeAmplified, writeMaildir, writeMbox, type CorpusInfo, type MaildirInfo } from './corpus.js';
import { cofferNodeFlags, machine, machineBusySeconds, ROOT, round, waitIdle } from './machine.js';

const USER = 'bench@example.org';
/** The Dovecot harness's default password. */
const PASSWORD = 'secret';
const PROFILE = 'bench-pull';
const ARCHIVE = 'bench';
/** Issue 6's targets. */
const TARGETS = { messagesPerSecond: 1000, peakRssMB100k: 300 };

interface Options {
  messages: 'corpus' | number;
  skipCoffer: boolean;
  skipMbsync: boolean;
  skipReference: boolean;
  mbsyncFsync: boolean;
  /** MALLOC_ARENA_MAX for Coffer's processes, as systemd/coffer.service sets it; 0: not set. */
  mallocArenaMax: number;
  profile: string | undefined;
  work: string;
  out: string | undefined;
  waitIdleSeconds: number;
  timeoutSeconds: number;
  /** Delete this run's data directories and mbsync's Maildir at the end (else the next run does, first). */
  clean: boolean;
  child: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const values = benchOptions(
    argv,
    {
      messages: { type: 'string' },
      'skip-coffer': { type: 'boolean' },
      'skip-mbsync': { type: 'boolean' },
      'skip-reference': { type: 'boolean' },
      'mbsync-fsync': { type: 'string' },
      'malloc-arena-max': { type: 'string' },
      profile: { type: 'string' },
      work: { type: 'string' },
      out: { type: 'string' },
      'wait-idle': { type: 'string' },
      timeout: { type: 'string' },
      clean: { type: 'boolean' },
      child: { type: 'string' },
    },
    'usage: node --import=tsx bench/profiles.ts [--messages corpus|N] [--skip-coffer] [--skip-mbsync] [--skip-reference]\n' +
      '                                            [--mbsync-fsync yes|no] [--malloc-arena-max N] [--profile DIR]\n' +
      '                                            [--work DIR] [--out FILE] [--wait-idle S] [--timeout S] [--clean]\n',
  );
  const messages = values.messages === undefined || values.messages === 'corpus' ? 'corpus' : Number(values.messages);
  if (messages !== 'corpus' && (!Number.isInteger(messages) || messages <= 0)) throw new Error('--messages: "corpus" or a positive integer');
  const fsync = values['mbsync-fsync'] ?? 'yes';
  if (fsync !== 'yes' && fsync !== 'no') throw new Error('--mbsync-fsync: yes or no');
  return {
    messages,
    skipCoffer: values['skip-coffer'] === true,
    skipMbsync: values['skip-mbsync'] === true,
    skipReference: values['skip-reference'] === true,
    mbsyncFsync: fsync === 'yes',
    mallocArenaMax: numberOption(values['malloc-arena-max'], 2),
    profile: values.profile === undefined ? undefined : resolve(values.profile),
    work: resolve(values.work ?? join(ROOT, 'bench', '.work')),
    out: values.out === undefined ? undefined : resolve(values.out),
    waitIdleSeconds: numberOption(values['wait-idle'], 120),
    timeoutSeconds: numberOption(values.timeout, 1800),
    clean: values.clean === true,
    child: values.child,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** When this run last deleted many files (leftovers of an earlier run), for settle(). */
let deletedAt: number | undefined;
/** How long after deleting many files creating new ones stays slow here (observed; ext4's inode allocator avoids recently freed inodes for a while). */
const AFTER_DELETE_MS = 40_000;

/**
 * Before a measurement: flush dirty pages to disk, and wait until AFTER_DELETE_MS have passed since
 * leftovers were deleted. On this VM (ext4), creating thousands of files within ~30 s of deleting
 * thousands of others cost 3-4× the system time (mbsync's 6,046 files: 2.9-3.4 s, 1.2-1.4 s sys, on
 * a quiet file system; 7.7-9.7 s, 5.8-6.8 s sys, when the previous run's copy had been deleted
 * seconds before). So nothing is deleted between measurements: the previous run's data directories
 * and Maildir go at the start (then this wait), this run's stay until the next (or `--clean`).
 */
async function settle(): Promise<void> {
  spawnSync('sync');
  const wait = deletedAt === undefined ? 0 : deletedAt + AFTER_DELETE_MS - Date.now();
  if (wait > 0) {
    process.stderr.write(`(waiting ${(wait / 1000).toFixed(0)} s after deleting the previous run's files) `);
    await sleep(wait);
  }
}

const mib = (kib: number): number => round(kib / 1024, 1);
const mb = (kib: number): number => round((kib * 1024) / 1e6, 1);

// --- /proc ------------------------------------------------------------------------------------------

/** CPU seconds of a process tree: each process's utime + stime + cutime + cstime (reaped children included). */
async function treeCpuSeconds(root: number | null): Promise<number> {
  if (root === null) return Number.NaN;
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = await readFile(`/proc/${name}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(f[1]));
      cpu.set(Number(name), [11, 12, 13, 14].reduce((sum, k) => sum + Number(f[k] ?? 0), 0) / 100);
    } catch {
      // exited meanwhile
    }
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

const statusKiB = (status: string, name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);

/** The pid of the Dovecot master started with this config (the harness does not expose it). */
async function dovecotMasterPid(conf: string): Promise<number | null> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (args[0]?.endsWith('dovecot') && args.includes(conf) && args.includes('-F')) return Number(name);
  }
  return null;
}

// --- the Coffer side: a child process ----------------------------------------------------------------

/** Environment of Coffer's processes: production, no inherited config, the unit's MALLOC_ARENA_MAX. */
function cofferEnv(options: Options): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  delete env['COFFER_CONFIG'];
  delete env['COFFER_DATA'];
  delete env['MALLOC_ARENA_MAX'];
  if (options.mallocArenaMax > 0) env['MALLOC_ARENA_MAX'] = String(options.mallocArenaMax);
  return env;
}

interface ChildSpec {
  /** The transpiled snapshot (its src/ holds the code under test). */
  build: string;
  dataDir: string;
  port: number;
  messages: number;
  dovecotPid: number | null;
  runs: number;
}

interface RunRecordLike {
  status: string;
  archived: number;
  unchanged: number;
  skipped: number;
  errors: { message: string; mailbox?: string; folder?: string }[];
  errorsOmitted: number;
}

interface ChildRun {
  startedAt: number;
  finishedAt: number;
  seconds: number;
  cpuSeconds: number;
  dovecotCpuSeconds: number;
  machineBusySeconds: number;
  /** process.memoryUsage().rss sampled every 100 ms during the run (the child's own view). */
  rssPeakKiB: number;
  rssSamples: number;
  /** Every second: [s since the run started, rss, heapTotal, heapUsed, external, arrayBuffers] in MiB (main thread's heap; rss is the whole process). */
  memoryTimelineMiB: number[][];
  record: RunRecordLike;
}

interface ChildResult {
  openSeconds: number;
  rssAfterOpenKiB: number;
  runs: ChildRun[];
  inboxMessages: number | undefined;
  folders: Record<string, number>;
  closeSeconds: number;
  /** ru_maxrss of the child, KiB: its peak resident set over its whole life. */
  maxRssKiB: number;
  cpuSeconds: number;
}

function configText(spec: ChildSpec): string {
  return [
    `dataDir: ${JSON.stringify(spec.dataDir)}`,
    'archives:',
    `  - { name: ${ARCHIVE}, address: ${USER} }`,
    'profiles:',
    `  - name: ${PROFILE}`,
    '    kind: mailbox',
    `    server: { host: 127.0.0.1, port: ${spec.port}, security: tls, ignoreCertificateErrors: true, timeout: 60s }`,
    `    user: ${USER}`,
    `    password: ${PASSWORD}`,
    `    archive: ${ARCHIVE}`,
    '',
  ].join('\n');
}

async function childMain(specPath: string): Promise<void> {
  const spec = JSON.parse(await readFile(specPath, 'utf8')) as ChildSpec;
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(spec.build, 'src', path)).href) as Promise<T>;
  const { openCoffer } = await load<typeof import('../src/app.js')>('app.js');
  const { parseConfigText } = await load<typeof import('../src/config/index.js')>('config/index.js');
  const { ProfileRunner } = await load<typeof import('../src/connectors/profiles/runner.js')>('connectors/profiles/runner.js');
  const { createSilentLogger } = await load<typeof import('../src/log/logger.js')>('log/logger.js');

  const config = parseConfigText(configText(spec), { file: join(dirname(spec.dataDir), 'profiles-bench.yaml'), env: {} });
  let started = performance.now();
  const coffer = await openCoffer(config);
  const openSeconds = (performance.now() - started) / 1000;
  const rssAfterOpenKiB = process.memoryUsage.rss() / 1024;
  const runner = new ProfileRunner({ config: () => config, ingest: () => coffer.ingest(), store: coffer.store, env: {}, logger: createSilentLogger() });
  const runs: ChildRun[] = [];
  for (let i = 0; i < spec.runs; i++) {
    let peak = 0;
    let samples = 0;
    const memoryTimelineMiB: number[][] = [];
    const runStart = performance.now();
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
      if (samples++ % 10 === 0) {
        const m = process.memoryUsage();
        memoryTimelineMiB.push([(performance.now() - runStart) / 1000, m.rss, m.heapTotal, m.heapUsed, m.external, m.arrayBuffers].map((v, k) => round(k === 0 ? v : v / 2 ** 20, 1)));
      }
    }, 100);
    const cpu = process.cpuUsage();
    const dovecot = await treeCpuSeconds(spec.dovecotPid);
    const busy = await machineBusySeconds();
    const startedAt = Date.now();
    started = performance.now();
    const record = (await runner.run(PROFILE, 'manual')) as RunRecordLike;
    const seconds = (performance.now() - started) / 1000;
    const finishedAt = Date.now();
    const used = process.cpuUsage(cpu);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage.rss());
    runs.push({
      startedAt,
      finishedAt,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      dovecotCpuSeconds: (await treeCpuSeconds(spec.dovecotPid)) - dovecot,
      machineBusySeconds: (await machineBusySeconds()) - busy,
      rssPeakKiB: peak / 1024,
      rssSamples: samples,
      memoryTimelineMiB,
      record,
    });
  }
  const archive = await coffer.store.getArchive(ARCHIVE);
  const folders = archive === undefined ? [] : await coffer.store.listFolders(archive.id);
  const counts = Object.fromEntries(folders.map((folder) => [folder.path.join('/'), folder.messages]));
  started = performance.now();
  await coffer.close();
  const closeSeconds = (performance.now() - started) / 1000;
  const usage = process.resourceUsage();
  const result: ChildResult = {
    openSeconds,
    rssAfterOpenKiB,
    runs,
    inboxMessages: counts[config.folders.received],
    folders: counts,
    closeSeconds,
    maxRssKiB: usage.maxRSS,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
  };
  await new Promise<void>((r) => process.stdout.write(`${JSON.stringify(result)}\n`, () => r()));
  process.exit(0);
}

/**
 * The code under test, transpiled (esbuild, no bundling, no type check) into `<work>/profiles-build`
 * with the same layout: src/, this file and its helpers. Taken once at start, so edits to src/
 * during the run change nothing; run by plain node (no tsx loader in the measured process).
 */
async function buildSnapshot(work: string): Promise<string> {
  const out = join(work, 'profiles-build');
  await rm(out, { recursive: true, force: true });
  const src = (await readdir(join(ROOT, 'src'), { recursive: true }))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join('src', file));
  const files = [...src, 'bench/profiles.ts', 'bench/common.ts', 'bench/corpus.ts', 'bench/machine.ts'];
  const esbuild = join(ROOT, 'node_modules', '.bin', 'esbuild');
  const built = spawnSync(
    esbuild,
    [...files, `--outdir=${out}`, `--outbase=${ROOT}`, '--format=esm', '--platform=node', '--target=es2023', '--sourcemap', '--log-level=warning'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (built.status !== 0) throw new Error(`esbuild failed: ${built.stderr}`);
  return out;
}

interface RssSample {
  at: number;
  rssKiB: number;
  anonKiB: number;
  fileKiB: number;
}

/**
 * Polls a process's VmRSS, RssAnon and RssFile every 100 ms (from outside: independent of its
 * event loop) until `done()`; VmHWM is its peak since it started.
 */
async function pollMemory(pid: () => Promise<number | undefined>, done: () => boolean): Promise<{ samples: RssSample[]; hwmKiB: number }> {
  const samples: RssSample[] = [];
  let hwmKiB = 0;
  while (!done()) {
    const target = await pid();
    const status = target === undefined ? '' : await readFile(`/proc/${target}/status`, 'utf8').catch(() => '');
    if (status !== '') {
      samples.push({ at: Date.now(), rssKiB: statusKiB(status, 'VmRSS'), anonKiB: statusKiB(status, 'RssAnon'), fileKiB: statusKiB(status, 'RssFile') });
      hwmKiB = Math.max(hwmKiB, statusKiB(status, 'VmHWM'));
    }
    await sleep(100);
  }
  return { samples, hwmKiB };
}

/** One sample a second: [s, VmRSS, RssAnon, RssFile] in MiB. */
function memoryTimeline(samples: readonly RssSample[]): number[][] {
  const t0 = samples[0]?.at ?? 0;
  return samples.filter((_, i) => i % 10 === 0).map((s) => [round((s.at - t0) / 1000, 1), mib(s.rssKiB), mib(s.anonKiB), mib(s.fileKiB)]);
}

/** The largest VmRSS sample, with the RssAnon and RssFile of that same sample. */
function peakSample(samples: readonly RssSample[]): { rssKiB: number; anonKiB: number; fileKiB: number } {
  let peak = { rssKiB: 0, anonKiB: 0, fileKiB: 0 };
  for (const s of samples) if (s.rssKiB > peak.rssKiB) peak = s;
  return { rssKiB: peak.rssKiB, anonKiB: peak.anonKiB, fileKiB: peak.fileKiB };
}

interface CofferResult {
  child: ChildResult;
  processSeconds: number;
  /** The child's memory polled every 100 ms from this process: per run, the sample with the largest VmRSS; VmHWM over its life. */
  polled: { runs: { rssKiB: number; anonKiB: number; fileKiB: number }[]; hwmKiB: number; samples: number };
  /** [s, VmRSS, RssAnon, RssFile] MiB, one a second, over the child's life. */
  rssTimelineMiB: number[][];
  exit: { code: number | null; signal: string | null };
}

async function runCoffer(options: Options, build: string, port: number, messages: number, dovecotPid: number | null, label: string): Promise<CofferResult> {
  const dataDir = join(options.work, `profiles-data-${label}`);
  await rm(dataDir, { recursive: true, force: true });
  const specPath = join(options.work, `profiles-child-${label}.json`);
  const spec: ChildSpec = { build, dataDir, port, messages, dovecotPid, runs: 2 };
  await writeFile(specPath, JSON.stringify(spec));
  const profiling = options.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profile];
  if (options.profile !== undefined) await mkdir(options.profile, { recursive: true });
  await settle();
  await waitIdle(options.waitIdleSeconds);
  const started = performance.now();
  const child = spawn(process.execPath, [...cofferNodeFlags(), ...profiling, join(build, 'bench', 'profiles.js'), '--child', specPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cofferEnv(options),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutSeconds * 1000);
  const { samples, hwmKiB } = await pollMemory(() => Promise.resolve(child.pid), () => done);
  const exit = await exited;
  clearTimeout(killer);
  const processSeconds = (performance.now() - started) / 1000;
  const result = parseJson(Buffer.concat(out).toString('utf8')) as ChildResult | undefined;
  if (exit.code !== 0 || result === undefined) {
    throw new Error(`coffer child exited ${exit.code ?? exit.signal}: ${Buffer.concat(err).toString('utf8').slice(-3000)}`);
  }
  const runs = result.runs.map((run) => peakSample(samples.filter((s) => s.at >= run.startedAt && s.at <= run.finishedAt + 100)));
  const timeline = memoryTimeline(samples);
  return { child: result, processSeconds, polled: { runs, hwmKiB, samples: samples.length }, rssTimelineMiB: timeline, exit };
}

// --- the peer: mbsync -------------------------------------------------------------------------------

interface MbsyncRun {
  seconds: number;
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  maxRssKiB: number;
  dovecotCpuSeconds: number;
  machineBusySeconds: number;
  code: number | null;
  output: string;
}

interface MbsyncResult {
  version: string;
  config: string;
  first: MbsyncRun;
  rerun: MbsyncRun;
  inboxFiles: number;
  inboxBytes: number;
  folders: string[];
}

async function timedMbsync(rc: string, timeFile: string, dovecotPid: number | null, timeoutSeconds: number, waitIdleSeconds: number): Promise<MbsyncRun> {
  await settle();
  await waitIdle(waitIdleSeconds);
  const dovecot = await treeCpuSeconds(dovecotPid);
  const busy = await machineBusySeconds();
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, 'mbsync', '-c', rc, '-a'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => output.push(c));
  child.stderr.on('data', (c: Buffer) => output.push(c));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearTimeout(killer);
  const seconds = (performance.now() - started) / 1000;
  const dovecotCpuSeconds = (await treeCpuSeconds(dovecotPid)) - dovecot;
  const machineBusy = (await machineBusySeconds()) - busy;
  const [, user, system, maxRss] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()?.split(' ').map(Number) ?? [];
  return {
    seconds,
    cpuSeconds: (user ?? Number.NaN) + (system ?? Number.NaN),
    userSeconds: user ?? Number.NaN,
    systemSeconds: system ?? Number.NaN,
    maxRssKiB: maxRss ?? Number.NaN,
    dovecotCpuSeconds,
    machineBusySeconds: machineBusy,
    code,
    output: Buffer.concat(output).toString('utf8').slice(-2000),
  };
}

async function runMbsync(options: Options, port: number, certFile: string, dovecotPid: number | null, label: string): Promise<MbsyncResult> {
  const version = spawnSync('mbsync', ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error('mbsync not installed (apt-get install -y isync)');
  const target = join(options.work, `profiles-mbsync-${label}`);
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  const rc = join(options.work, `profiles-mbsyncrc-${label}`);
  const config = [
    `FSync ${options.mbsyncFsync ? 'yes' : 'no'}`,
    '',
    'IMAPAccount bench',
    'Host 127.0.0.1',
    `Port ${port}`,
    `User ${USER}`,
    `Pass ${PASSWORD}`,
    'SSLType IMAPS',
    // A "host" certificate: matched against the server's own certificate and trusted as such
    // (isync 1.4 has no option to skip verification).
    `CertificateFile ${certFile}`,
    '',
    'IMAPStore far',
    'Account bench',
    '',
    'MaildirStore near',
    `Path ${target}/`,
    `Inbox ${target}/INBOX`,
    'SubFolders Verbatim',
    '',
    'Channel pull',
    'Far :far:',
    'Near :near:',
    // The folders Coffer's profile archives by default (Drafts, Trash, Junk, Outbox excluded).
    'Patterns * !Drafts !Trash !Junk !Outbox',
    'Sync Pull',
    'Create Near',
    'Expunge None',
    'SyncState *',
    '',
  ].join('\n');
  await writeFile(rc, config, { mode: 0o600 });
  const timeFile = join(options.work, `profiles-mbsync-time-${label}`);
  process.stderr.write('mbsync: pull ...');
  const first = await timedMbsync(rc, timeFile, dovecotPid, options.timeoutSeconds, options.waitIdleSeconds);
  process.stderr.write(` ${first.seconds.toFixed(1)} s (exit ${first.code})\n`);
  let inboxFiles = 0;
  let inboxBytes = 0;
  for (const sub of ['cur', 'new']) {
    const dir = join(target, 'INBOX', sub);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      inboxFiles++;
      inboxBytes += (await stat(join(dir, name))).size;
    }
  }
  const folders = (await readdir(target)).sort();
  process.stderr.write('mbsync: re-run ...');
  const rerun = await timedMbsync(rc, timeFile, dovecotPid, options.timeoutSeconds, options.waitIdleSeconds);
  process.stderr.write(` ${rerun.seconds.toFixed(2)} s\n`);
  return { version: version.stdout.trim(), config: config.replace(`Pass ${PASSWORD}`, 'Pass …'), first, rerun, inboxFiles, inboxBytes, folders };
}

// --- reference: the same messages through `coffer import maildir` ------------------------------------

interface ReferenceResult {
  seconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
  machineBusySeconds: number;
  code: number | null;
  summary: unknown;
  peak: { rssKiB: number; anonKiB: number; fileKiB: number };
  rssTimelineMiB: number[][];
}

/**
 * `coffer import maildir` of the same Maildir (files read from disk, no IMAP) with the same build
 * into a fresh data directory: the write path's own speed, what a pull could at best approach.
 */
async function runReference(options: Options, build: string, maildir: MaildirInfo, label: string): Promise<ReferenceResult> {
  const dataDir = join(options.work, `profiles-import-data-${label}`);
  await rm(dataDir, { recursive: true, force: true });
  const config = join(options.work, `profiles-import-${label}.yaml`);
  await writeFile(config, [`dataDir: ${JSON.stringify(dataDir)}`, `archives: [{ name: ${ARCHIVE}, address: ${USER} }]`, ''].join('\n'));
  const timeFile = join(options.work, `profiles-import-time-${label}`);
  await settle();
  await waitIdle(options.waitIdleSeconds);
  process.stderr.write('reference: coffer import maildir ...');
  const busy = await machineBusySeconds();
  const started = performance.now();
  const env = cofferEnv(options);
  const child = spawn(
    '/usr/bin/time',
    ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, ...cofferNodeFlags(), join(build, 'src', 'main.js'), 'import', 'maildir', maildir.path, '--archive', ARCHIVE, '--config', config, '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutSeconds * 1000);
  let closed = false;
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  void exited.then(() => {
    closed = true;
  });
  // GNU time's child: the node process.
  const nodePid = async (): Promise<number | undefined> => {
    const children = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
    const pid = Number(children.trim().split(' ')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const memory = await pollMemory(nodePid, () => closed);
  const code = await exited;
  clearTimeout(killer);
  const seconds = (performance.now() - started) / 1000;
  const machineBusy = (await machineBusySeconds()) - busy;
  process.stderr.write(` ${seconds.toFixed(1)} s (exit ${code})\n`);
  const [, user, system, maxRss] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()?.split(' ').map(Number) ?? [];
  const summary = parseJson(Buffer.concat(out).toString('utf8'));
  if (code !== 0) throw new Error(`coffer import maildir exited ${code}: ${Buffer.concat(err).toString('utf8').slice(-2000)}`);
  return {
    seconds,
    cpuSeconds: (user ?? Number.NaN) + (system ?? Number.NaN),
    maxRssKiB: maxRss ?? Number.NaN,
    machineBusySeconds: machineBusy,
    code,
    summary,
    peak: peakSample(memory.samples),
    rssTimelineMiB: memoryTimeline(memory.samples),
  };
}

// --- Dovecot: the mailbox --------------------------------------------------------------------------

interface Warmup {
  firstExamineMs: number;
  exists: number | undefined;
  metadataFetchMs: number;
  downloadMs: number;
  downloadLiteralBytes: number;
  downloadMessages: number;
}

/**
 * Hard-links the cached Maildir's files into the user's Maildir (mail_location of the harness:
 * <dir>/mail/%u/Maildir) before Dovecot has looked at it; the directories go to the mail user, the
 * files stay root's, mode 0644 (Dovecot only reads and renames them).
 */
async function populate(dovecotDir: string, maildir: MaildirInfo): Promise<number> {
  const started = performance.now();
  const mailRoot = join(dovecotDir, 'mail');
  const owner = await stat(mailRoot);
  const home = join(mailRoot, USER);
  const box = join(home, 'Maildir');
  await mkdir(join(box, 'new'), { recursive: true });
  await mkdir(join(box, 'tmp'), { recursive: true });
  const linked = spawnSync('cp', ['-al', join(maildir.path, 'cur'), join(box, 'cur')], { encoding: 'utf8' });
  if (linked.status !== 0) throw new Error(`cp -al: ${linked.stderr}`);
  for (const dir of [home, box, join(box, 'cur'), join(box, 'new'), join(box, 'tmp')]) await chown(dir, owner.uid, owner.gid);
  return (performance.now() - started) / 1000;
}

/**
 * Before anything is timed: the first EXAMINE (Dovecot scans the Maildir and builds its uidlist and
 * index), the metadata FETCH the pull starts with, and a full BODY.PEEK[] download (the files into
 * the page cache, Dovecot's cache file filled), so that Coffer and mbsync both meet a warm server.
 */
async function warmUp(port: number): Promise<Warmup> {
  const { ImapClient } = await import('./imap.js');
  const { client } = await ImapClient.connect(port, 900_000);
  const ok = <T extends { status: string; text: string }>(r: T, what: string): T => {
    if (r.status !== 'OK') throw new Error(`${what}: ${r.text}`);
    return r;
  };
  ok(await client.command(`LOGIN ${USER} ${PASSWORD}`), 'LOGIN');
  const examine = ok(await client.command('EXAMINE INBOX', { capture: true }), 'EXAMINE');
  let exists: number | undefined;
  for (const line of examine.lines) {
    const m = /^\* (\d+) EXISTS/i.exec(typeof line[0] === 'string' ? line[0] : '');
    if (m !== null) exists = Number(m[1]);
  }
  const metadata = ok(await client.command('UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)'), 'metadata FETCH');
  const download = ok(await client.command('UID FETCH 1:* BODY.PEEK[]'), 'BODY.PEEK[] FETCH');
  await client.logout();
  return {
    firstExamineMs: round(examine.ms, 1),
    exists,
    metadataFetchMs: round(metadata.ms, 1),
    downloadMs: round(download.ms, 1),
    downloadLiteralBytes: download.literalBytes,
    downloadMessages: download.literalSizes.length,
  };
}

// --- report -----------------------------------------------------------------------------------------

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(options: Options): Promise<void> {
  await mkdir(options.work, { recursive: true });
  const problems: string[] = [];
  const loadAtStart = await waitIdle(Math.min(options.waitIdleSeconds, 30));
  const build = await buildSnapshot(options.work);
  const entry = join(build, 'src', 'main.js');

  let input: CorpusInfo;
  let label: string;
  if (options.messages === 'corpus') {
    const path = join(options.work, 'corpus.mbox');
    input = await cached(path, { kind: 'mbox' }, () => writeMbox(path));
    label = 'corpus';
  } else {
    const n = options.messages;
    const path = join(options.work, `amplified-${n}.mbox`);
    input = await cached(path, { kind: 'amplified', n, seed: 1 }, () => writeAmplified(path, n, 1));
    label = String(n);
  }
  const maildirPath = join(options.work, `profiles-maildir-${label}`);
  const maildir = await cached(maildirPath, { kind: 'maildir', from: input.path, messages: input.messages, bytes: input.bytes }, () => writeMaildir(entry, input, maildirPath));
  const out = options.out ?? join(ROOT, 'bench', 'results', `profiles-${maildir.messages}.json`);
  // Leftovers of an earlier run go first, long before anything is timed (see settle()).
  const scratch = [`profiles-data-${label}`, `profiles-mbsync-${label}`, `profiles-import-data-${label}`].map((dir) => join(options.work, dir));
  for (const dir of scratch) {
    if ((await stat(dir).catch(() => undefined)) === undefined) continue;
    await rm(dir, { recursive: true, force: true });
    deletedAt = Date.now();
  }

  const version = spawnSync('dovecot', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const { startDovecot } = await import('../test/integration/dovecot/harness.js');
  process.stderr.write('dovecot: start ...');
  const dovecot = await startDovecot({ users: [USER] });
  process.stderr.write(` imaps on ${dovecot.ports.imaps}\n`);
  let coffer: CofferResult | undefined;
  let mbsync: MbsyncResult | undefined;
  const errors: Record<string, string> = {};
  let populateSeconds = 0;
  let warm: Warmup | undefined;
  try {
    const conf = join(dovecot.dir, 'dovecot.conf');
    const dovecotPid = await dovecotMasterPid(conf);
    if (dovecotPid === null) problems.push('the Dovecot master process was not found: its CPU is not measured');
    process.stderr.write(`dovecot: hard-link ${maildir.messages} messages into the Maildir ...`);
    populateSeconds = await populate(dovecot.dir, maildir);
    process.stderr.write(` ${populateSeconds.toFixed(1)} s\ndovecot: first EXAMINE, metadata FETCH and full download (warm-up) ...`);
    warm = await warmUp(dovecot.ports.imaps);
    process.stderr.write(` EXAMINE ${(warm.firstExamineMs / 1000).toFixed(1)} s, download ${(warm.downloadMs / 1000).toFixed(1)} s\n`);
    if (warm.exists !== maildir.messages) problems.push(`Dovecot's INBOX has ${warm.exists ?? 'no'} messages, the Maildir ${maildir.messages}`);
    if (warm.downloadMessages !== maildir.messages) problems.push(`the warm-up download returned ${warm.downloadMessages} messages`);

    if (!options.skipCoffer) {
      process.stderr.write('coffer: pull, re-run (child process) ...');
      try {
        coffer = await runCoffer(options, build, dovecot.ports.imaps, maildir.messages, dovecotPid, label);
        const [first, second] = coffer.child.runs;
        process.stderr.write(` ${first?.seconds.toFixed(1)} s, re-run ${second?.seconds.toFixed(2)} s\n`);
        if (first !== undefined) {
          if (first.record.archived !== maildir.messages) problems.push(`coffer: the first run archived ${first.record.archived}, expected ${maildir.messages}`);
          if (first.record.errors.length > 0 || first.record.errorsOmitted > 0) problems.push(`coffer: the first run reported ${first.record.errors.length + first.record.errorsOmitted} errors, first: ${JSON.stringify(first.record.errors.slice(0, 3))}`);
        }
        if (second !== undefined && (second.record.archived !== 0 || second.record.errors.length > 0)) {
          problems.push(`coffer: the re-run archived ${second.record.archived} (expected 0), errors ${JSON.stringify(second.record.errors.slice(0, 3))}`);
        }
        if (coffer.child.inboxMessages !== maildir.messages) problems.push(`coffer: the archive's Inbox lists ${coffer.child.inboxMessages ?? 'no'} messages, expected ${maildir.messages}`);
      } catch (error) {
        errors['coffer'] = error instanceof Error ? error.message : String(error);
        process.stderr.write(' failed\n');
      }
    }
    if (!options.skipMbsync) {
      try {
        mbsync = await runMbsync(options, dovecot.ports.imaps, join(dovecot.dir, 'cert.pem'), dovecotPid, label);
        if (mbsync.first.code !== 0) problems.push(`mbsync exited ${mbsync.first.code}: ${mbsync.first.output}`);
        if (mbsync.rerun.code !== 0) problems.push(`mbsync (re-run) exited ${mbsync.rerun.code}: ${mbsync.rerun.output}`);
        if (mbsync.inboxFiles !== maildir.messages) problems.push(`mbsync: INBOX holds ${mbsync.inboxFiles} files, expected ${maildir.messages}`);
      } catch (error) {
        errors['mbsync'] = error instanceof Error ? error.message : String(error);
      }
    }
    const bad = dovecot.logTail(100_000).split('\n').filter((l) => /(Error|Fatal|Panic|Warning):/.test(l));
    if (bad.length > 0) problems.push(`dovecot logged ${bad.length} warning/error lines; first: ${bad.slice(0, 3).join(' | ').slice(0, 1000)}`);
  } finally {
    await dovecot.stop();
  }
  let reference: ReferenceResult | undefined;
  if (!options.skipReference) {
    try {
      reference = await runReference(options, build, maildir, label);
    } catch (error) {
      errors['reference'] = error instanceof Error ? error.message : String(error);
    }
  }
  if (options.clean) for (const dir of scratch) await rm(dir, { recursive: true, force: true });

  const messages = maildir.messages;
  const megabytes = maildir.bytes / 1e6;
  const first = coffer?.child.runs[0];
  const second = coffer?.child.runs[1];
  const cofferRate = first === undefined ? undefined : messages / first.seconds;
  const mbsyncRate = mbsync === undefined ? undefined : messages / mbsync.first.seconds;
  const ratio = cofferRate !== undefined && mbsyncRate !== undefined ? round(cofferRate / mbsyncRate, 2) : undefined;
  const peakKiB = coffer === undefined ? undefined : Math.max(coffer.child.maxRssKiB, coffer.polled.hwmKiB);
  const other = (busy: number, ...used: number[]): number => round(busy - used.reduce((a, b) => a + b, 0), 1);
  const cofferSummary =
    coffer === undefined || first === undefined
      ? undefined
      : {
          seconds: round(first.seconds, 2),
          messagesPerSecond: round(messages / first.seconds, 0),
          megabytesPerSecond: round(megabytes / first.seconds, 2),
          cpuSeconds: round(first.cpuSeconds, 1),
          dovecotCpuSeconds: round(first.dovecotCpuSeconds, 1),
          otherCpuSeconds: other(first.machineBusySeconds, first.cpuSeconds, first.dovecotCpuSeconds),
          peakRssMiB: {
            polledDuringRun: mib(coffer.polled.runs[0]?.rssKiB ?? 0),
            anonAtThatPeak: mib(coffer.polled.runs[0]?.anonKiB ?? 0),
            fileAtThatPeak: mib(coffer.polled.runs[0]?.fileKiB ?? 0),
            sampledInProcess: mib(first.rssPeakKiB),
            maxrssWholeProcess: mib(peakKiB ?? 0),
          },
          peakRssMB: mb(peakKiB ?? 0),
          rerunSeconds: second === undefined ? undefined : round(second.seconds, 3),
          rerunCpuSeconds: second === undefined ? undefined : round(second.cpuSeconds, 2),
          rerunPeakRssMiB: second === undefined ? undefined : mib(coffer.polled.runs[1]?.rssKiB ?? 0),
          closeSeconds: round(coffer.child.closeSeconds, 2),
          openSeconds: round(coffer.child.openSeconds, 2),
          rssAfterOpenMiB: mib(coffer.child.rssAfterOpenKiB),
          processSeconds: round(coffer.processSeconds, 1),
          processCpuSeconds: round(coffer.child.cpuSeconds, 1),
          records: coffer.child.runs.map((r) => r.record),
          folders: coffer.child.folders,
          rssTimelineMiB: { columns: ['s', 'VmRSS', 'RssAnon', 'RssFile'], samples: coffer.rssTimelineMiB },
          memoryTimelineMiB: { columns: ['s', 'rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'], samples: first.memoryTimelineMiB },
        };
  const mbsyncSummary =
    mbsync === undefined
      ? undefined
      : {
          version: mbsync.version,
          seconds: round(mbsync.first.seconds, 2),
          messagesPerSecond: round(messages / mbsync.first.seconds, 0),
          megabytesPerSecond: round(megabytes / mbsync.first.seconds, 2),
          cpuSeconds: round(mbsync.first.cpuSeconds, 1),
          userSystemSeconds: [round(mbsync.first.userSeconds, 2), round(mbsync.first.systemSeconds, 2)],
          fsync: options.mbsyncFsync,
          dovecotCpuSeconds: round(mbsync.first.dovecotCpuSeconds, 1),
          otherCpuSeconds: other(mbsync.first.machineBusySeconds, mbsync.first.cpuSeconds, mbsync.first.dovecotCpuSeconds),
          peakRssMiB: mib(mbsync.first.maxRssKiB),
          rerunSeconds: round(mbsync.rerun.seconds, 3),
          rerunCpuSeconds: round(mbsync.rerun.cpuSeconds, 2),
          inboxFiles: mbsync.inboxFiles,
          inboxBytes: mbsync.inboxBytes,
          folders: mbsync.folders,
          config: mbsync.config,
        };
  const scalars = (value: unknown): Record<string, unknown> =>
    Object.fromEntries(Object.entries(typeof value === 'object' && value !== null ? value : {}).filter(([, v]) => typeof v !== 'object'));
  const referenceSummary =
    reference === undefined
      ? undefined
      : {
          command: 'coffer import maildir <the same Maildir> --archive bench --json (same build, fresh data directory)',
          seconds: round(reference.seconds, 2),
          messagesPerSecond: round(messages / reference.seconds, 0),
          megabytesPerSecond: round(megabytes / reference.seconds, 2),
          cpuSeconds: round(reference.cpuSeconds, 1),
          otherCpuSeconds: other(reference.machineBusySeconds, reference.cpuSeconds),
          peakRssMiB: mib(reference.maxRssKiB),
          atPeakMiB: { rss: mib(reference.peak.rssKiB), anon: mib(reference.peak.anonKiB), file: mib(reference.peak.fileKiB) },
          summary: scalars(reference.summary),
          rssTimelineMiB: { columns: ['s', 'VmRSS', 'RssAnon', 'RssFile'], samples: reference.rssTimelineMiB },
        };
  const results = {
    machine: machine(),
    command: `node --import=tsx bench/profiles.ts ${process.argv.slice(2).join(' ')}`.trim(),
    code: `esbuild transpile of src/ taken at start (${relative(ROOT, build)}), run by node without tsx`,
    otherCoresAtStart: round(loadAtStart, 2),
    mallocArenaMax: options.mallocArenaMax > 0 ? options.mallocArenaMax : 'not set',
    targets: TARGETS,
    input: { corpus: label, messages, bytes: maildir.bytes, maildir: maildir.path, populateSeconds: round(populateSeconds, 1) },
    dovecot: {
      version,
      setup: 'test/integration/dovecot/harness.ts startDovecot: private instance, imaps on loopback, passwd-file user, Maildir (pre-populated by hard links before Dovecot first saw it); warmed up before timing',
      warmup: warm,
      warmupDownloadMBps: warm === undefined ? undefined : round(warm.downloadLiteralBytes / 1e6 / (warm.downloadMs / 1000), 1),
    },
    coffer: cofferSummary,
    mbsync: mbsyncSummary,
    reference: referenceSummary,
    ratio: { definition: 'Coffer msgs/s ÷ mbsync msgs/s, first (full) pull', value: ratio },
    targetsMet: {
      messagesPerSecond: cofferRate === undefined ? null : cofferRate >= TARGETS.messagesPerSecond,
      peakRss: peakKiB === undefined || messages < 100_000 ? null : mb(peakKiB) <= TARGETS.peakRssMB100k,
    },
    errors,
    problems,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);

  const lines = [
    '',
    `${fmt(messages)} messages, ${fmt(megabytes, 1)} MB (Maildir bytes); Dovecot ${version}; warm-up download ${warm === undefined ? 'n/a' : `${fmt(warm.downloadMs / 1000, 2)} s`}`,
    '',
    '| | wall s | msg/s | MB/s | CPU s | Dovecot CPU s | other CPU s | peak RSS MiB | re-run s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  if (cofferSummary !== undefined) {
    lines.push(
      `| Coffer | ${fmt(cofferSummary.seconds, 2)} | ${fmt(cofferSummary.messagesPerSecond)} | ${fmt(cofferSummary.megabytesPerSecond, 2)} | ${fmt(cofferSummary.cpuSeconds, 1)} | ${fmt(cofferSummary.dovecotCpuSeconds, 1)} | ${fmt(cofferSummary.otherCpuSeconds, 1)} | ${fmt(cofferSummary.peakRssMiB.polledDuringRun)} (maxrss ${fmt(cofferSummary.peakRssMiB.maxrssWholeProcess)}) | ${fmt(cofferSummary.rerunSeconds, 3)} |`,
    );
  }
  if (mbsyncSummary !== undefined) {
    lines.push(
      `| mbsync | ${fmt(mbsyncSummary.seconds, 2)} | ${fmt(mbsyncSummary.messagesPerSecond)} | ${fmt(mbsyncSummary.megabytesPerSecond, 2)} | ${fmt(mbsyncSummary.cpuSeconds, 1)} | ${fmt(mbsyncSummary.dovecotCpuSeconds, 1)} | ${fmt(mbsyncSummary.otherCpuSeconds, 1)} | ${fmt(mbsyncSummary.peakRssMiB)} | ${fmt(mbsyncSummary.rerunSeconds, 3)} |`,
    );
  }
  if (referenceSummary !== undefined) {
    lines.push(
      `| (coffer import maildir) | ${fmt(referenceSummary.seconds, 2)} | ${fmt(referenceSummary.messagesPerSecond)} | ${fmt(referenceSummary.megabytesPerSecond, 2)} | ${fmt(referenceSummary.cpuSeconds, 1)} | | ${fmt(referenceSummary.otherCpuSeconds, 1)} | ${fmt(referenceSummary.peakRssMiB)} | |`,
    );
  }
  lines.push('', `ratio (Coffer msg/s ÷ mbsync msg/s): ${ratio ?? 'n/a'}`);
  for (const [who, error] of Object.entries(errors)) lines.push(`- ERROR ${who}: ${error}`);
  for (const problem of problems) lines.push(`- PROBLEM: ${problem}`);
  lines.push(`results written to ${out}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseOptions(process.argv.slice(2));
  if (options.child !== undefined) await childMain(options.child);
  else await main(options);
}
