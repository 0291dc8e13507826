// What the benchmarks need to know about this (shared) machine: how busy it is, a record of what
// ran where, and a snapshot of dist/ so that a rebuild during a run cannot change the code measured.
// Imported by the benchmark scripts; no side effects on import.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

/** The node flags Coffer's entry point runs with (its `#!/usr/bin/env -S node ...` line), for benches that start it with `node`. */
export function cofferNodeFlags(): string[] {
  const shebang = readFileSync(join(ROOT, 'src', 'main.ts'), 'utf8').split('\n', 1)[0]!;
  const match = /^#!\/usr\/bin\/env (?:-S )?node\b(.*)$/.exec(shebang);
  if (!match) throw new Error(`src/main.ts: unexpected first line ${JSON.stringify(shebang)}`);
  return match[1]!.split(' ').filter(Boolean);
}

export const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Busy (non-idle, non-iowait) CPU seconds of the whole machine since boot, from /proc/stat. */
export async function machineBusySeconds(): Promise<number> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - (f[3] ?? 0) - (f[4] ?? 0)) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

/**
 * This machine is shared: before a measurement, wait (up to `limit` seconds) until the other
 * processes use less than 15% of one core, so a neighbour's test run does not pollute the numbers.
 * Returns the last reading, in cores.
 */
export async function waitIdle(limit: number): Promise<number> {
  const deadline = performance.now() + limit * 1000;
  for (;;) {
    const before = await machineBusySeconds();
    await new Promise((r) => setTimeout(r, 2000));
    const busy = ((await machineBusySeconds()) - before) / 2;
    if (!(busy > 0.15) || performance.now() > deadline) return busy;
    process.stderr.write(`(machine busy: ${(busy * 100).toFixed(0)}% of a core; waiting) `);
  }
}

/** Recorded with every result: when, on what, at which commit, with src/ clean or not. */
export function machine(): Record<string, unknown> {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' });
  return {
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    loadAverageAtEnd: loadavg().map((l) => round(l, 2)),
    node: process.version,
    kernel: release(),
    commit: git.status === 0 ? git.stdout.trim() : 'none',
    srcDirty: dirty.status === 0 ? dirty.stdout.trim() !== '' : 'unknown',
  };
}

/**
 * Copies dist/ to `<work>/<name>` and returns its main.js, so that a concurrent rebuild cannot
 * change the code mid-run; under bench/.work/ so that node_modules still resolves from the root.
 */
export async function snapshotDist(work: string, name: string): Promise<string> {
  if (!existsSync(join(DIST, 'main.js'))) {
    process.stderr.write(`${join(DIST, 'main.js')} not found: run \`npm run build\` first\n`);
    process.exit(1);
  }
  const snapshot = join(work, name);
  await rm(snapshot, { recursive: true, force: true });
  await cp(DIST, snapshot, { recursive: true });
  return join(snapshot, 'main.js');
}
