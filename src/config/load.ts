// Loads the configuration: picks the file (--config, $COFFER_CONFIG or the embedded default),
// parses YAML keeping node positions, validates with the schema and reports EVERY problem as
// `file:line:col key.path: message`. The result has absolute paths and is deeply frozen.
// Defaults are not here; they live in schema.ts.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type * as z from 'zod';
import { CofferError, ErrorCodes } from '../errors.js';
import { createConfigSchema } from './schema.js';
import type { Config } from './schema.js';

export interface LoadConfigOptions {
  /** Explicit config file (`--config`); relative paths are resolved against cwd. */
  file?: string;
  /** Environment for $COFFER_CONFIG and $COFFER_DATA; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Working directory; defaults to process.cwd(). */
  cwd?: string;
}

/** Invalid or unreadable configuration. `problems` are ready to print, one per line. */
export class ConfigError extends CofferError {
  readonly problems: string[];

  constructor(problems: string[], options: { cause?: unknown } = {}) {
    const summary = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(ErrorCodes.ConfigInvalid, `invalid configuration (${summary}):\n${problems.join('\n')}`, options);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Label used in place of a file name for problems in the embedded default. */
const EMBEDDED_LABEL = '<embedded default>';

/**
 * With no file at all, Coffer runs as a working demo: one journal endpoint on loopback that
 * archives whatever local mail is sent to it. Every other value is the schema's default; a config
 * file starts from the schema defaults alone (no endpoint it did not ask for).
 */
const EMBEDDED_DEFAULT = {
  archives: [{ name: 'journal' }],
  smtp: { endpoints: [{ address: 'journal@localhost', archive: 'journal', acceptAnyRecipient: true }] },
};

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const chosen = options.file ?? (env.COFFER_CONFIG === '' ? undefined : env.COFFER_CONFIG);

  if (chosen === undefined) {
    // The embedded default is "no keys": every value comes from the schema's defaults.
    return validate(structuredClone(EMBEDDED_DEFAULT), { label: EMBEDDED_LABEL, configFile: null, baseDir: cwd, env, cwd });
  }

  const file = resolve(cwd, chosen);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read configuration file (${describeFsError(error)})`], { cause: error });
  }
  return parseConfigText(text, { file, env, cwd });
}

/**
 * Parses and validates configuration text as if read from `file` (absolute). Exposed for
 * commands that validate a config without loading it from disk, and for tests.
 */
export function parseConfigText(text: string, options: { file: string; env?: NodeJS.ProcessEnv; cwd?: string }): Config {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const file = resolve(cwd, options.file);
  const lineCounter = new LineCounter();
  // prettyErrors adds a source excerpt to messages; we print our own one-line form instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };

  // Warnings (such as unknown tags) are treated as errors: a config that means something other
  // than it seems to is worse than one that refuses to load.
  const yamlProblems = [...doc.errors, ...doc.warnings].map((error) => ({
    offset: error.pos[0],
    text: `${at(error.pos[0])} ${yamlKeyLabel(doc, error.pos[0])}: ${firstLine(error.message)}`,
  }));
  if (yamlProblems.length > 0) {
    // Schema problems on a half-parsed document would mostly be noise; syntax first.
    throw new ConfigError(sortProblems(yamlProblems));
  }

  let data: unknown;
  try {
    // maxAliasCount bounds alias expansion ("billion laughs").
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([`${at(0)} ${ROOT_LABEL}: ${firstLine(error instanceof Error ? error.message : String(error))}`], {
      cause: error,
    });
  }
  // An empty file (or one holding only comments) means "all defaults".
  if (data === null || data === undefined) data = {};

  return validate(data, { label: file, configFile: file, baseDir: dirname(file), env, cwd, doc, at });
}

interface ValidateContext {
  label: string;
  configFile: string | null;
  baseDir: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  doc?: Document;
  at?: (offset: number) => string;
}

function validate(data: unknown, context: ValidateContext): Config {
  const schema = createConfigSchema({ env: context.env, cwd: context.cwd });
  const result = schema.safeParse(data, { error: issueMessage });
  if (!result.success) {
    const problems: { offset: number; text: string }[] = [];
    for (const issue of result.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [null];
      for (const key of keys) {
        const path = key === null ? issue.path : [...issue.path, key];
        const message = key === null ? issue.message : `unknown key "${key}"`;
        const offset = context.doc === undefined ? 0 : locate(context.doc, path);
        const where = context.at === undefined ? `${context.label}:1:1` : context.at(offset);
        problems.push({ offset, text: `${where} ${formatKeyPath(path)}: ${message}` });
      }
    }
    throw new ConfigError(sortProblems(problems));
  }

  const parsed = result.data;
  const abs = (p: string): string => resolve(context.baseDir, p);
  // Optional sections stay absent rather than present-but-undefined, so `'tls' in config` and
  // object spreads behave the way the YAML reads.
  const { encryption, tls, profiles, ...rest } = parsed;
  return deepFreeze({
    ...rest,
    profiles: profiles.map((profile) => ({
      ...profile,
      ...(profile.csv === undefined ? {} : { csv: abs(profile.csv) }),
      ...(typeof profile.password === 'object' && 'file' in profile.password ? { password: { file: abs(profile.password.file) } } : {}),
    })),
    dataDir: abs(parsed.dataDir),
    ...(encryption === undefined ? {} : { encryption: { keyFile: abs(encryption.keyFile) } }),
    ...(tls === undefined ? {} : { tls: { cert: abs(tls.cert), key: abs(tls.key) } }),
    configFile: context.configFile,
  });
}

// --- messages ---------------------------------------------------------------------------------

const ROOT_LABEL = '(top level)';

/** Names values the way they look in YAML, not in JavaScript. */
function yamlTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

const EXPECTED_NAMES: Record<string, string> = { object: 'a mapping', array: 'a list', record: 'a mapping' };

/** Per-parse error map: only fills in messages the schema did not set itself. */
function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'required';
    const expected = EXPECTED_NAMES[issue.expected] ?? `a ${issue.expected}`;
    return `expected ${expected}, got ${yamlTypeName(issue.input)}`;
  }
  if (issue.code === 'invalid_value') {
    const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
    return `must be one of ${options}; got ${yamlTypeName(issue.input)}`;
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `archives[1].name`; keys that are not identifiers (archive names like "a.b") are quoted. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return ROOT_LABEL;
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}

function describeFsError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    if (code === 'EISDIR') return 'is a directory';
    return code ?? error.message;
  }
  return String(error);
}

function sortProblems(problems: { offset: number; text: string }[]): string[] {
  // Array.prototype.sort is stable, so problems at the same position keep schema order.
  return problems.sort((a, b) => a.offset - b.offset).map((p) => p.text);
}

// --- positions --------------------------------------------------------------------------------

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range: unknown = node.range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

/**
 * Offset of the node a zod path names. Map entries point at the key (that is where an admin
 * looks for `name:`), list entries at the item. A path that runs past the document (a missing
 * required key) stops at the deepest node that exists: the mapping the key is missing from.
 */
function locate(doc: Document, path: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** Key path of the innermost map entry or list item containing `offset`, for YAML errors. */
function yamlKeyLabel(doc: Document, offset: number): string {
  const path: PropertyKey[] = [];
  let node: unknown = doc.contents;
  const contains = (n: unknown): boolean => {
    if (typeof n !== 'object' || n === null || !('range' in n)) return false;
    const range: unknown = n.range;
    return Array.isArray(range) && typeof range[0] === 'number' && typeof range[2] === 'number'
      ? range[0] <= offset && offset < range[2]
      : false;
  };
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => contains(p.key) || contains(p.value));
      if (pair === undefined || !isScalar(pair.key)) break;
      path.push(String(pair.key.value));
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => contains(item));
      if (index < 0) break;
      path.push(index);
      node = node.items[index];
    } else {
      break;
    }
  }
  return formatKeyPath(path);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
