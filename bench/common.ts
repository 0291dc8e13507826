// Small helpers the benchmark scripts share: options, cached corpora, percentiles, the CLI's JSON
// output.
// No side effects on import.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bump when the corpus generators change, so cached corpora are rebuilt. */
export const CORPUS_VERSION = 1;

/**
 * Builds a corpus unless an identical one (same key, generator version) is cached: a manifest
 * `<path>.info.json` beside it records the key and what `build` returned.
 */
export async function cached<T>(path: string, key: object, build: () => Promise<T>): Promise<T> {
  const manifest = `${path}.info.json`;
  const wanted = JSON.stringify({ ...key, version: CORPUS_VERSION });
  try {
    const saved = JSON.parse(await readFile(manifest, 'utf8')) as { key: string; info: T };
    if (saved.key === wanted && existsSync(path)) return saved.info;
  } catch {
    // no manifest yet: build
  }
  const started = performance.now();
  process.stderr.write(`building ${path} ...`);
  const info = await build();
  process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  await writeFile(manifest, JSON.stringify({ key: wanted, info }));
  return info;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** The command's JSON document on stdout: the whole output, else the last parseable `{`-block. */
export function parseJson(stdout: string): unknown {
  const text = stdout.trim();
  try {
    return JSON.parse(text);
  } catch {
    // log lines before the summary: try from each line that starts an object, last first
  }
  for (let at = text.lastIndexOf('\n{'); at !== -1; at = text.lastIndexOf('\n{', at - 1)) {
    try {
      return JSON.parse(text.slice(at + 1));
    } catch {
      // keep looking
    }
  }
  return undefined;
}

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** A benchmark's `--options` (node:util's parseArgs); anything else prints the usage and exits 2. */
export function benchOptions<T extends OptionSpecs>(argv: string[], specs: T, usage: string) {
  try {
    return parseArgs({ args: argv, options: specs, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exit(2);
  }
}

/** A numeric option's value, or its default when absent. */
export function numberOption(value: string | boolean | undefined, fallback: number): number {
  return typeof value === 'string' ? Number(value) : fallback;
}

/**
 * A module of the CLI under test, by its path in src/ (`app.js`, `config/index.js`): the built file
 * beside the measured main.js (a snapshot of dist/), so that helper code run in the benchmark's
 * process (splitting an mbox, answering queries) is the build being measured, not src/ as it is now.
 */
export async function builtModule<T>(main: string, path: string): Promise<T> {
  return (await import(pathToFileURL(join(dirname(main), path)).href)) as T;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
