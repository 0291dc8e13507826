// SMTP intake benchmark: starts the built daemon (`node dist/main.js serve`, from a snapshot of
// dist/) on a fresh data directory and has N concurrent nodemailer clients (one pooled STARTTLS
// connection each) send the SpamAssassin corpus over loopback to its journal endpoint. Measures
// messages/s, time-to-250 per message (send() call to resolve: p50/p99/max), the daemon's peak RSS
// and CPU, then stops it (SIGTERM), runs `coffer verify` and writes bench/results/smtp.json.
// Client sockets get TCP_NODELAY (see `--nagle` and bench/README.md: stock nodemailer writes the
// final "." separately, and Nagle + the peer's delayed ACK add ~40 ms to every message).

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createTransport } from 'nodemailer';
import { corpusFiles, splitPostmark } from './corpus.js';
import { accepts, benchOptions, freePort, numberOption, percentile } from './common.js';
import { cofferNodeFlags, machine, machineBusySeconds, ROOT, round, snapshotDist, waitIdle } from './machine.js';

const ENDPOINT = 'journal@bench.test';

interface Options {
  clients: number;
  /** Passes over the corpus; the second and later resend the same bytes (deduplicated, still durable). */
  passes: number;
  main: string | undefined;
  work: string;
  out: string;
  waitIdleSeconds: number;
  /** Leave Nagle's algorithm on in the clients, as stock nodemailer does. */
  nagle: boolean;
  /** Write V8 CPU profiles of the daemon (and its worker threads) into this directory. */
  profile: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const values = benchOptions(
    argv,
    {
      clients: { type: 'string' },
      passes: { type: 'string' },
      main: { type: 'string' },
      work: { type: 'string' },
      out: { type: 'string' },
      'wait-idle': { type: 'string' },
      nagle: { type: 'boolean' },
      profile: { type: 'string' },
    },
    'usage: node --import=tsx bench/smtp.ts [--clients N] [--passes N] [--work DIR] [--out FILE]\n' +
      '                                        [--wait-idle SECONDS] [--main dist/main.js] [--nagle]\n' +
      '                                        [--profile DIR]\n',
  );
  const options: Options = {
    clients: numberOption(values.clients, 10),
    passes: numberOption(values.passes, 1),
    main: values.main === undefined ? undefined : resolve(values.main),
    work: resolve(values.work ?? join(ROOT, 'bench', '.work')),
    out: resolve(values.out ?? join(ROOT, 'bench', 'results', 'smtp.json')),
    waitIdleSeconds: numberOption(values['wait-idle'], 120),
    nagle: values.nagle === true,
    profile: values.profile === undefined ? undefined : resolve(values.profile),
  };
  if (!Number.isInteger(options.clients) || options.clients <= 0) throw new Error('--clients needs a positive integer');
  if (!Number.isInteger(options.passes) || options.passes <= 0) throw new Error('--passes needs a positive integer');
  return options;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));




/** utime + stime of one process (all its threads) in seconds, from /proc/<pid>/stat. */
async function processCpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function memoryKiB(pid: number): Promise<{ rss: number; hwm: number }> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/**
 * nodemailer (8.0) never sets TCP_NODELAY and writes the message and the closing "\r\n.\r\n" as two
 * writes: the second waits for the ACK of the first, which the server's kernel delays ~40 ms. A
 * real MTA flushes the terminator with the data; this connects the socket itself, with NODELAY,
 * and hands it to nodemailer (which still does EHLO and STARTTLS on it).
 */
function noDelaySocket(port: number) {
  return (_options: unknown, callback: (err: Error | null, socketOptions?: { connection: Socket }) => void): void => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      callback(null, { connection: socket });
    });
    socket.once('error', (err) => callback(err));
  };
}

function collect(child: ChildProcess): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  return new Promise((r, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => r({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

async function cli(main: string, args: string[]): Promise<{ code: number | null; json: unknown; stderr: string }> {
  const result = await collect(spawn(process.execPath, [...cofferNodeFlags(), main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = result.stdout.slice(0, 2000);
  }
  return { code: result.code, json, stderr: result.stderr.slice(-2000) };
}


/** What SMTP turns the bytes into: bare LF becomes CRLF (nodemailer does it on the wire). */
function wireSha(message: Buffer): string {
  return createHash('sha256').update(message.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1').digest('hex');
}


async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await mkdir(options.work, { recursive: true });
  let entry = options.main;
  entry ??= await snapshotDist(options.work, 'dist-snapshot-smtp');

  // The corpus in memory, postmark lines stripped: exactly what an MTA would relay.
  const messages: Buffer[] = [];
  for (const file of await corpusFiles()) messages.push(Buffer.from(splitPostmark(await readFile(file)).message));
  const corpusBytes = messages.reduce((sum, m) => sum + m.length, 0);
  const distinct = new Set(messages.map(wireSha)).size;

  const dataDir = join(options.work, 'smtp-data');
  await rm(dataDir, { recursive: true, force: true });
  const port = await freePort();
  const config = join(options.work, 'smtp-bench.yaml');
  await writeFile(
    config,
    [
      `dataDir: ${JSON.stringify(dataDir)}`,
      'log: { level: warn }',
      'archives:',
      '  - name: journal',
      'smtp:',
      `  listen: ["127.0.0.1:${port}"]`,
      `  maxConnections: ${Math.max(100, options.clients * 2)}`,
      '  endpoints:',
      `    - address: ${ENDPOINT}`,
      '      archive: journal',
      '',
    ].join('\n'),
  );

  process.stderr.write(`waiting for an idle machine (up to ${options.waitIdleSeconds} s) ... `);
  const busyAtStart = await waitIdle(options.waitIdleSeconds);
  process.stderr.write('\n');

  const profiling = options.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profile];
  const daemon = spawn(process.execPath, [...cofferNodeFlags(), ...profiling, entry, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const daemonDone = collect(daemon);
  const pid = daemon.pid;
  if (pid === undefined) throw new Error('coffer serve did not start');
  let up = false;
  for (let i = 0; i < 300 && !up; i++) {
    up = await accepts(port);
    if (!up) await sleep(100);
  }
  if (!up) {
    daemon.kill('SIGKILL');
    const r = await daemonDone;
    throw new Error(`coffer serve is not listening after 30 s: ${r.stderr}${r.stdout.slice(-2000)}`);
  }
  const rssAtStartMiB = (await memoryKiB(pid)).rss / 1024;

  // Poll the daemon's RSS every 100 ms while the clients run.
  let peakRssKiB = 0;
  const rssTimelineMiB: number[] = [];
  let polling = true;
  const poller = (async () => {
    let ticks = 0;
    while (polling) {
      const { rss } = await memoryKiB(pid);
      peakRssKiB = Math.max(peakRssKiB, rss);
      if (ticks++ % 10 === 0) rssTimelineMiB.push(round(rss / 1024, 0));
      await sleep(100);
    }
  })();

  const total = messages.length * options.passes;
  let next = 0;
  const latencies = new Float64Array(total);
  const completedAt = new Float64Array(total);
  const failures: string[] = [];
  let acked = 0;
  const busyBefore = await machineBusySeconds();
  const daemonCpuBefore = await processCpuSeconds(pid);
  const clientCpuBefore = process.cpuUsage();
  const started = performance.now();
  const client = async (): Promise<void> => {
    const transport = createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      pool: true,
      maxConnections: 1,
      maxMessages: Number.POSITIVE_INFINITY,
      connectionTimeout: 30_000,
      socketTimeout: 60_000,
      ...(options.nagle ? {} : { getSocket: noDelaySocket(port) }),
    });
    try {
      for (let i = next++; i < total; i = next++) {
        const raw = messages[i % messages.length];
        if (raw === undefined) continue;
        const t0 = performance.now();
        try {
          const info = await transport.sendMail({ envelope: { from: 'mta@bench.test', to: [ENDPOINT] }, raw });
          const t1 = performance.now();
          if (info.response.startsWith('250')) {
            acked += 1;
            latencies[i] = t1 - t0;
            completedAt[i] = t1 - started;
          } else if (failures.length < 20) failures.push(`message ${i}: ${info.response}`);
        } catch (err) {
          if (failures.length < 20) failures.push(`message ${i}: ${String(err)}`);
        }
        if ((i + 1) % 1000 === 0) process.stderr.write(`${i + 1} `);
      }
    } finally {
      transport.close();
    }
  };
  await Promise.all(Array.from({ length: options.clients }, () => client()));
  const wallSeconds = (performance.now() - started) / 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const daemonCpuSeconds = (await processCpuSeconds(pid)) - daemonCpuBefore;
  const machineBusy = (await machineBusySeconds()) - busyBefore;
  polling = false;
  await poller;
  const hwmKiB = (await memoryKiB(pid)).hwm;
  process.stderr.write('\n');

  daemon.kill('SIGTERM');
  const stopped = await daemonDone;
  const verify = await cli(entry, ['verify', '--json', '--config', config]);
  const folders = await cli(entry, ['folders', 'journal', '--json', '--config', config]);
  const inbox = (folders.json as { folders?: { path: string; messages: number }[] }).folders?.find((f) => f.path === 'Inbox');

  const ok = Array.from(latencies).filter((_, i) => (completedAt[i] ?? 0) > 0);
  const sorted = ok.sort((a, b) => a - b);
  // Sustained rate: messages completed between 10% and 90% of the run's completions, divided by
  // the time between those two completions (leaves out connection setup and the tail).
  const times = Array.from(completedAt)
    .filter((x) => x > 0)
    .sort((a, b) => a - b);
  const lo = times[Math.floor(times.length * 0.1)] ?? 0;
  const hi = times[Math.floor(times.length * 0.9)] ?? 0;
  const steady = hi > lo ? (Math.floor(times.length * 0.9) - Math.floor(times.length * 0.1)) / ((hi - lo) / 1000) : Number.NaN;
  const clientCpuSeconds = (clientCpu.user + clientCpu.system) / 1e6;

  const results = {
    machine: machine(),
    command: `node --import=tsx bench/smtp.ts ${process.argv.slice(2).join(' ')}`.trim(),
    cli: options.main ?? 'snapshot of dist/ taken at start',
    targets: { messagesPerSecond: 1000, p99Ms: 100, peakRssMB: 300 },
    input: { messages: messages.length, passes: options.passes, sent: total, bytes: corpusBytes, distinctOnTheWire: distinct },
    clients: options.clients,
    clientSockets: options.nagle ? 'stock nodemailer (Nagle on)' : 'TCP_NODELAY',
    wallSeconds: round(wallSeconds, 2),
    acked,
    failures,
    messagesPerSecond: round(acked / wallSeconds, 0),
    steadyMessagesPerSecond: round(steady, 0),
    mbPerSecond: round(corpusBytes * options.passes / 1e6 / wallSeconds, 2),
    timeTo250Ms: {
      p50: round(percentile(sorted, 50), 1),
      p90: round(percentile(sorted, 90), 1),
      p99: round(percentile(sorted, 99), 1),
      max: round(sorted[sorted.length - 1] ?? Number.NaN, 1),
    },
    daemon: {
      rssAtStartMiB: round(rssAtStartMiB, 0),
      peakRssMiB: round(peakRssKiB / 1024, 0),
      peakRssMB: round((peakRssKiB * 1024) / 1e6, 0),
      vmHwmMiB: round(hwmKiB / 1024, 0),
      rssTimelineMiB,
      cpuSeconds: round(daemonCpuSeconds, 1),
      exitCode: stopped.code,
    },
    clientCpuSeconds: round(clientCpuSeconds, 1),
    otherCpuSeconds: round(machineBusy - daemonCpuSeconds - clientCpuSeconds, 1),
    busyCoresBeforeStart: round(busyAtStart, 2),
    journalInbox: inbox?.messages ?? null,
    verify: { exitCode: verify.code, ok: (verify.json as { ok?: boolean }).ok ?? null, stderr: verify.code === 0 ? undefined : verify.stderr },
  };
  process.stdout.write(`${JSON.stringify({ ...results, daemon: { ...results.daemon, rssTimelineMiB: undefined } }, null, 2)}\n`);
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`results written to ${options.out}\n`);
  if (stopped.code !== 0) process.stderr.write(`coffer serve exited ${String(stopped.code)}: ${stopped.stderr.slice(-2000)}\n`);
}

await main();
