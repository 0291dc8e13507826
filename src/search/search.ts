// The search service: a request (quick-search text or a query tree, scope, criteria) in, the total
// and the newest matching listings out. Results are listings (archive, folder, UID), limited to
// archives the searcher may read; a message listed in two readable folders is two results.
import type { Config } from '../config/index.js';
import { CofferError, ErrorCodes } from '../errors.js';
import { formatAddress, viewEnvelope } from '../mime/envelope-view.js';
import type { ArchiveStore } from '../store/store.js';
import type { FolderRecord } from '../store/records.js';
import { mayRead, readableArchives } from './access.js';
import type { Bitset } from './bitset.js';
import { blockOf, slotOf } from './doc-values.js';
import { evaluate, listingTest, type EvaluateOptions } from './evaluate.js';
import type { Query } from './query.js';
import { parseQuickSearch } from './query-parse.js';
import type { SearchIndex } from './search-index.js';

export interface SearchRequest {
  /** MailStore quick-search text, or a query tree (IMAP SEARCH, the advanced search). */
  query: string | Query;
  /** Whose access applies; absent: the local administrator, who reads every archive. */
  user?: string;
  archive?: string;
  /** A folder path ('Inbox', 'Projects/2024'), in `archive` or in every readable archive. */
  folder?: string;
  /** With `folder`: its subfolders too (the default, as in the manual's advanced search). */
  includeSubfolders?: boolean;
  /** The message date: since inclusive, before exclusive. */
  since?: Date;
  before?: Date;
  /** Further criteria (archiving date, size, attachments, priority), AND-ed with the rest. */
  criteria?: Query;
  /** How many results to return, newest first (default 50). */
  limit?: number;
}

export interface SearchHit {
  archive: string;
  folder: string;
  uid: number;
  date: string | null;
  from: string;
  to: string;
  subject: string;
}

export interface SearchResponse {
  total: number;
  results: SearchHit[];
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 10_000;

interface ScopedFolder {
  archive: string;
  folder: FolderRecord;
}

export async function search(store: ArchiveStore, index: SearchIndex, config: Config, request: SearchRequest): Promise<SearchResponse> {
  const limit = request.limit ?? DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    throw new CofferError(ErrorCodes.InvalidArgument, `the limit must be a whole number from 0 to ${MAX_LIMIT}`);
  }
  const query = buildQuery(request);
  const folders = await scopeFolders(store, config, request);
  await index.ready();
  const view = index.acquire();
  let total = 0;
  const top = new TopListings(limit);
  try {
    const test = listingTest(await evaluate(index, view, query));
    const blocks = await index.docValueBlocks(view.maxDoc);
    const dateOf = (doc: number): number => blocks[blockOf(doc)]!.dates[slotOf(doc)]!;
    for (const [position, { folder }] of folders.entries()) {
      const { docs, uids } = await index.folderListing(folder.id);
      for (let i = 0; i < docs.length; i++) {
        const doc = docs[i]!;
        if (doc > view.maxDoc || !test(doc, folder.id, uids[i]!)) continue;
        total++;
        top.offer(dateOf(doc), doc, position, uids[i]!);
      }
    }
  } finally {
    await index.release(view);
  }
  return { total, results: await describe(store, folders, top.newestFirst()) };
}

/**
 * Every UID in one folder that matches a query tree, ascending: what IMAP SEARCH answers for the
 * selected folder. Access to the folder is the caller's to check (it selected it).
 */
export async function searchFolder(index: SearchIndex, folderId: number, query: Query): Promise<number[]> {
  await index.ready();
  const view = index.acquire();
  try {
    const test = listingTest(await evaluate(index, view, query));
    const { docs, uids } = await index.folderListing(folderId);
    const matches: number[] = [];
    for (let i = 0; i < docs.length; i++) if (docs[i]! <= view.maxDoc && test(docs[i]!, folderId, uids[i]!)) matches.push(uids[i]!);
    return matches.sort((a, b) => a - b);
  } finally {
    await index.release(view);
  }
}

/** A folder's indexed listings and, per query, the messages that match it (FolderEvaluation). */
export interface FolderEvaluation {
  /** UID → document id, for every listing of the folder the index holds. */
  docOf: Map<number, number>;
  /** Per query, the matching documents (of every folder: look them up through docOf). */
  matches: Bitset[];
}

/**
 * Evaluates queries on message criteria only (text, size, dates; no UID or listing criteria) in
 * one view of the index, with the folder's listings from the same view: the building blocks IMAP
 * SEARCH combines with what only it knows (imap/search.ts).
 */
export async function evaluateInFolder(index: SearchIndex, folderId: number, queries: readonly Query[], options: EvaluateOptions = {}): Promise<FolderEvaluation> {
  await index.ready();
  const view = index.acquire();
  try {
    const matches: Bitset[] = [];
    for (const query of queries) {
      const result = await evaluate(index, view, query, options);
      if (result.kind !== 'docs') throw new CofferError(ErrorCodes.InvalidArgument, 'evaluateInFolder takes message criteria only');
      matches.push(result.docs);
    }
    const { docs, uids } = await index.folderListing(folderId);
    const docOf = new Map<number, number>();
    for (let i = 0; i < docs.length; i++) if (docs[i]! <= view.maxDoc) docOf.set(uids[i]!, docs[i]!);
    return { docOf, matches };
  } finally {
    await index.release(view);
  }
}

function buildQuery(request: SearchRequest): Query {
  const items: Query[] = [typeof request.query === 'string' ? parseQuickSearch(request.query) : request.query];
  if (request.since || request.before) {
    const range: { since?: number; before?: number } = {};
    if (request.since) range.since = validDate(request.since, 'since');
    if (request.before) range.before = validDate(request.before, 'before');
    items.push({ op: 'date', ...range });
  }
  if (request.criteria) items.push(request.criteria);
  return items.length === 1 ? items[0]! : { op: 'and', items };
}

function validDate(date: Date, name: string): number {
  const time = date.getTime();
  if (!Number.isFinite(time)) throw new CofferError(ErrorCodes.InvalidArgument, `${name} is not a valid date`);
  return time;
}

async function scopeFolders(store: ArchiveStore, config: Config, request: SearchRequest): Promise<ScopedFolder[]> {
  const scope = readableArchives(config, request.user);
  let archives = (await store.listArchives()).filter((archive) => mayRead(scope, archive.name));
  if (request.archive !== undefined) {
    const wanted = request.archive;
    archives = archives.filter((archive) => archive.name === wanted);
    // The same answer whether the archive is missing or not readable: no probing for names.
    if (!archives.length) throw new CofferError(ErrorCodes.NotFound, `no archive named "${wanted}" that ${request.user ? `user "${request.user}"` : 'you'} may read`);
  }
  const path = request.folder?.split('/').filter(Boolean);
  const withSubfolders = request.includeSubfolders ?? true;
  const scoped: ScopedFolder[] = [];
  for (const archive of archives) {
    for (const folder of await store.listFolders(archive.id)) {
      if (path && !folderMatches(folder.path, path, withSubfolders)) continue;
      scoped.push({ archive: archive.name, folder });
    }
  }
  return scoped;
}

function folderMatches(folder: readonly string[], wanted: readonly string[], withSubfolders: boolean): boolean {
  if (folder.length < wanted.length || (!withSubfolders && folder.length !== wanted.length)) return false;
  return wanted.every((segment, i) => folder[i]!.toLowerCase() === segment.toLowerCase());
}

/** The listings as results: what the store says of each, read in two batches. */
async function describe(store: ArchiveStore, folders: readonly ScopedFolder[], hits: readonly RankedListing[]): Promise<SearchHit[]> {
  const entries = await store.getEntries(hits.map((hit) => ({ folderId: folders[hit.folder]!.folder.id, uid: hit.uid })));
  const found = entries.flatMap((entry) => (entry ? [entry.sha] : []));
  const metas = new Map((await store.getMessages(found)).map((meta, i) => [found[i]!.toString('hex'), meta]));
  return hits.map((hit, i) => {
    const scoped = folders[hit.folder]!;
    const entry = entries[i];
    const meta = entry && metas.get(entry.sha.toString('hex'));
    const envelope = meta ? viewEnvelope(meta.envelope) : undefined;
    return {
      archive: scoped.archive,
      folder: scoped.folder.path.join('/'),
      uid: hit.uid,
      date: Number.isFinite(hit.date) ? new Date(hit.date).toISOString() : null,
      from: envelope?.from.map(formatAddress).join(', ') ?? '',
      to: envelope?.to.map(formatAddress).join(', ') ?? '',
      subject: envelope?.subject ?? '',
    };
  });
}

interface RankedListing {
  date: number;
  doc: number;
  folder: number;
  uid: number;
}

/** The `limit` newest listings seen: newest by date, then by most recently archived content. */
class TopListings {
  private readonly kept: RankedListing[] = [];

  constructor(private readonly limit: number) {}

  offer(date: number, doc: number, folder: number, uid: number): void {
    if (this.limit === 0) return;
    const key = Number.isFinite(date) ? date : -Infinity;
    const { kept } = this;
    if (kept.length === this.limit && !newer(key, doc, kept[kept.length - 1]!)) return;
    let at = kept.length;
    while (at > 0 && newer(key, doc, kept[at - 1]!)) at--;
    kept.splice(at, 0, { date: key, doc, folder, uid });
    if (kept.length > this.limit) kept.pop();
  }

  newestFirst(): RankedListing[] {
    return this.kept;
  }
}

function newer(date: number, doc: number, than: RankedListing): boolean {
  return date > than.date || (date === than.date && doc > than.doc);
}
