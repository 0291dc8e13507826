// `coffer search "<query>"`: the MailStore quick-search syntax plus the advanced criteria as
// options, newest first. `coffer reindex`: rebuild the search index from the store.
import type { Command } from 'commander';
import type { Coffer } from '../app.js';
import { parseSize } from '../config/index.js';
import { CofferError, ErrorCodes } from '../errors.js';
import type { Priority, Query } from '../search/query.js';
import { MAX_LIMIT, type SearchRequest, type SearchResponse } from '../search/search.js';
import { formatTable, printJson, printLine, type Output } from './output.js';

export interface SearchOptions {
  user?: string;
  archive?: string;
  folder?: string;
  subfolders: boolean;
  since?: Date;
  before?: Date;
  archivedSince?: Date;
  archivedBefore?: Date;
  minSize?: number;
  maxSize?: number;
  attachments?: boolean;
  priority?: Priority[];
  limit?: number;
  json?: boolean;
}

/** The options of `coffer search`, added to its command. */
export function addSearchOptions(command: Command): Command {
  return command
    .option('-u, --user <name>', "search with this user's access (default: every archive)")
    .option('-a, --archive <name>', 'only this archive')
    .option('-f, --folder <path>', 'only this folder, "/"-separated, with its subfolders')
    .option('--no-subfolders', 'with --folder: not its subfolders')
    .option('--since <date>', 'message date on or after (YYYY-MM-DD, UTC, or an ISO 8601 time)', parseDateOption)
    .option('--before <date>', 'message date before', parseDateOption)
    .option('--archived-since <date>', 'archived on or after', parseDateOption)
    .option('--archived-before <date>', 'archived before', parseDateOption)
    .option('--min-size <size>', 'at least this size (e.g. 400KB)', parseSizeOption)
    .option('--max-size <size>', 'at most this size (e.g. 5MB)', parseSizeOption)
    .option('--attachments', 'only messages with attachments')
    .option('--no-attachments', 'only messages without attachments')
    .option('--priority <levels>', 'comma-separated: low, normal, high', parsePriorities)
    .option('-n, --limit <count>', `how many results to print, newest first (default 50, at most ${MAX_LIMIT})`, parseLimit)
    .option('--json', 'print {"total", "results"} as JSON');
}

export function searchRequest(query: string, options: SearchOptions): SearchRequest {
  const request: SearchRequest = { query, includeSubfolders: options.subfolders };
  if (options.user !== undefined) request.user = options.user;
  if (options.archive !== undefined) request.archive = options.archive;
  if (options.folder !== undefined) request.folder = options.folder;
  if (options.since) request.since = options.since;
  if (options.before) request.before = options.before;
  if (options.limit !== undefined) request.limit = options.limit;
  const criteria: Query[] = [];
  if (options.archivedSince || options.archivedBefore) {
    criteria.push({ op: 'archived', ...(options.archivedSince ? { since: options.archivedSince.getTime() } : {}), ...(options.archivedBefore ? { before: options.archivedBefore.getTime() } : {}) });
  }
  if (options.minSize !== undefined || options.maxSize !== undefined) {
    criteria.push({ op: 'size', ...(options.minSize === undefined ? {} : { min: options.minSize }), ...(options.maxSize === undefined ? {} : { max: options.maxSize }) });
  }
  // --attachments is defined before --no-attachments, so commander leaves it unset unless given.
  if (options.attachments !== undefined) criteria.push({ op: 'attachments', present: options.attachments });
  if (options.priority) criteria.push({ op: 'priority', levels: options.priority });
  if (criteria.length) request.criteria = criteria.length === 1 ? criteria[0]! : { op: 'and', items: criteria };
  return request;
}

export async function runSearch(coffer: Coffer, query: string, options: SearchOptions): Promise<SearchResponse> {
  return coffer.search(searchRequest(query, options));
}

export function printSearchResults(response: SearchResponse, output: Output, json: boolean): void {
  if (json) {
    printJson(output, {
      total: response.total,
      results: response.results.map(({ archive, folder, uid, date, from, subject }) => ({ archive, folder, uid, date, from, subject })),
    });
    return;
  }
  if (response.results.length) {
    const rows = response.results.map((hit) => [
      hit.date?.slice(0, 16).replace('T', ' ') ?? '(no date)',
      clip(hit.from, 30),
      clip(hit.to, 30),
      clip(hit.subject, 50),
      hit.archive,
      hit.folder,
      String(hit.uid),
    ]);
    printLine(output.stdout, formatTable(['date', 'from', 'to', 'subject', 'archive', 'folder', 'uid'], rows, 6));
  }
  const shown = response.results.length < response.total ? ` (newest ${response.results.length} shown)` : '';
  printLine(output.stdout, `${response.total} ${response.total === 1 ? 'message' : 'messages'} found${shown}`);
}

function clip(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function parseDateOption(value: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  if (!Number.isFinite(date.getTime())) throw new CofferError(ErrorCodes.InvalidArgument, `invalid date "${value}": use YYYY-MM-DD or an ISO 8601 time`);
  return date;
}

function parseSizeOption(value: string): number {
  const bytes = parseSize(value);
  if (bytes === null) throw new CofferError(ErrorCodes.InvalidArgument, `invalid size "${value}": a number with B, KB, MB or GB`);
  return bytes;
}

function parsePriorities(value: string): Priority[] {
  const levels = value.split(',').map((level) => level.trim().toLowerCase());
  for (const level of levels) {
    if (level !== 'low' && level !== 'normal' && level !== 'high') {
      throw new CofferError(ErrorCodes.InvalidArgument, `invalid priority "${level}": low, normal or high`);
    }
  }
  return levels as Priority[];
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit > MAX_LIMIT) throw new CofferError(ErrorCodes.InvalidArgument, `invalid limit "${value}": a number from 0 to ${MAX_LIMIT}`);
  return limit;
}
