// IMAP SEARCH / UID SEARCH in one selected folder. The answer is exactly what imap-core's reference
// matcher (imap-core/lib/search.js matchSearchQuery) gives for the messages Coffer serves, found
// through the search index: its IMAP fields hold the terms of the very text the matcher compares
// (search/imap-text.ts), so a word of TEXT, BODY, SUBJECT, FROM, TO, CC or BCC is answered from the
// index alone, and other strings from candidates the index proves sufficient, each then checked
// on its archived bytes with the matcher's own rule. Dates, sizes, UIDs and flags come from the
// index's and the store's records. A criterion no index can narrow is checked on every message.
// Where the matcher has no answer (it throws on an unreadable Date header) or would misread the
// request (CHARSET other than UTF-8 / US-ASCII, which it ignores) this module decides: see sentDay
// and compile.
import { CofferError, ErrorCodes } from '../errors.js';
import type { Bitset } from '../search/bitset.js';
import { evaluateInFolder } from '../search/search.js';
import type { SearchIndex } from '../search/search-index.js';
import type { Query, SearchField } from '../search/query.js';
import { headerField, IMAP_PARTIAL_TERM, IMAP_TERM_MAX, IMAP_VALUE_FIELDS, IMAP_WORD_MAX, imapWords, rebuildMessage } from '../search/imap-text.js';
import type { ArchiveStore } from '../store/store.js';
import type { EntryRecord } from '../store/records.js';
import type { MimeNode } from '../vendor/imap-core.js';
import { parseWithinLimits } from '../mime/parse-limits.js';
import { ARCHIVE_FLAGS } from './flags.js';

export interface MailboxSearchContext {
  store: ArchiveStore;
  index: SearchIndex;
  folderId: number;
  /** The session's view of the folder: UIDs ascending (sequence number = position + 1). */
  uidList: readonly number[];
}

// --- imap-core's parsed criteria (commands/search.js parseQueryTerms) --------------------------

/**
 * A string argument. imap-core passes atoms, quoted strings and literals alike as binary strings
 * (one character per byte, so non-ASCII text arrives as its UTF-8 bytes); the matcher compares
 * them as they are, and so does this module. A Buffer is read as the matcher would (`toString()`).
 */
export type ImapSearchString = string | Buffer;

/** One criterion, or a list of criteria that must all hold. */
export type ImapSearchTerm = ImapSearchCriterion | readonly ImapSearchTerm[];

export type ImapSearchCriterion =
  | { key: 'all'; value?: unknown }
  /** ANSWERED, SEEN, KEYWORD x, UNSEEN, … (NEW and others expand to a list of these). */
  | { key: 'flag'; value: ImapSearchString; exists: boolean }
  /** BEFORE / ON / SINCE (internaldate), SENTBEFORE / SENTON / SENTSINCE (date): `value` is dd-Mon-yyyy. */
  | { key: 'internaldate' | 'date'; operator: '<' | '=' | '>='; value: string }
  | { key: 'text' | 'body'; value: ImapSearchString }
  /** HEADER name value; SUBJECT, FROM, TO, CC and BCC too. `header` is lowercased; an empty value asks for presence. */
  | { key: 'header'; header: string; value: string }
  /** UID sets and message sequence sets, resolved by imap-core to the UIDs they stand for. */
  | { key: 'uid'; value: readonly number[] }
  /** SMALLER (<), LARGER (>). */
  | { key: 'size'; operator: '<' | '=' | '>'; value: number }
  | { key: 'modseq'; value: number }
  | { key: 'charset'; value: ImapSearchString }
  | { key: 'not'; value: ImapSearchTerm }
  | { key: 'or'; value: readonly ImapSearchTerm[] };

// --- the compiled criteria ---------------------------------------------------------------------

type Operator = '<' | '=' | '>' | '>=';

type Node =
  | { kind: 'and'; items: Node[] }
  | { kind: 'or'; items: Node[] }
  | { kind: 'not'; item: Node }
  | { kind: 'constant'; value: boolean }
  | { kind: 'uid'; uids: ReadonlySet<number> }
  | { kind: 'modseq'; min: number }
  | { kind: 'size'; operator: Operator; value: number }
  /** `day` is the criterion's date as the matcher compares it (shortDate). */
  | { kind: 'internaldate' | 'date'; operator: Operator; day: string }
  /** `needle` is lowercased, as the matcher compares it. */
  | { kind: 'text' | 'body'; needle: string }
  | { kind: 'header'; name: string; needle: string };

const invalid = (message: string): never => {
  throw new CofferError(ErrorCodes.InvalidArgument, message);
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** `(value || '').toString()`, the matcher's reading of a string argument. */
function stringOf(value: unknown, what: string): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString();
  return invalid(`${what} needs a string`);
}

/**
 * The matcher's getShortDate: the UTC calendar day of the instant. Note that a criterion's
 * `dd-Mon-yyyy` is read as local midnight first (new Date), so east of UTC it names the day
 * before: that is imap-core's behaviour, kept so that answers stay the same.
 */
function shortDate(date: Date): string | undefined {
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().substring(0, 10);
}

/** The list of criteria imap-core passes (a list is AND), checked and compiled. */
function compile(term: unknown): Node {
  if (Array.isArray(term)) return { kind: 'and', items: term.map(compile) };
  // The matcher answers false to anything that is not a criterion object, and to unknown keys.
  if (!isObject(term)) return { kind: 'constant', value: false };
  switch (term.key) {
    case 'all':
      return { kind: 'constant', value: true };
    case 'flag':
      // Strict comparison, as the matcher's indexOf: a literal (Buffer) keyword is never a flag.
      return { kind: 'constant', value: ARCHIVE_FLAGS.includes(term.value as string) === Boolean(term.exists) };
    case 'charset': {
      // The matcher ignores CHARSET; Coffer compares the search string as UTF-8 (which covers
      // US-ASCII) and says NO [BADCHARSET] to any other charset rather than misreading its bytes.
      const charset = stringOf(term.value, 'CHARSET');
      if (!/^(?:utf-?8|us-ascii|ascii)$/i.test(charset)) invalid(`unsupported charset ${charset.slice(0, 40)}`);
      return { kind: 'constant', value: true };
    }
    case 'not':
      return { kind: 'not', item: compile(term.value) };
    case 'or':
      if (!Array.isArray(term.value)) return invalid('OR needs a list of criteria');
      return { kind: 'or', items: term.value.map(compile) };
    case 'uid':
      if (!Array.isArray(term.value) || !term.value.every((uid) => typeof uid === 'number')) return invalid('UID needs a list of UIDs');
      return { kind: 'uid', uids: new Set(term.value as number[]) };
    case 'modseq':
      if (typeof term.value !== 'number') return invalid('MODSEQ needs a number');
      return { kind: 'modseq', min: term.value };
    case 'size':
      if (typeof term.value !== 'number') return invalid('LARGER and SMALLER need a number');
      // Any other operator: the matcher answers false.
      if (term.operator !== '<' && term.operator !== '=' && term.operator !== '>') return { kind: 'constant', value: false };
      return { kind: 'size', operator: term.operator, value: term.value };
    case 'internaldate':
    case 'date': {
      const day = typeof term.value === 'string' ? shortDate(new Date(term.value)) : undefined;
      // The matcher would throw (toISOString of an invalid date).
      if (day === undefined) return invalid('invalid date in SEARCH');
      if (term.operator !== '<' && term.operator !== '=' && term.operator !== '>=') return { kind: 'constant', value: false };
      return { kind: term.key, operator: term.operator, day };
    }
    case 'text':
    case 'body':
      return { kind: term.key, needle: stringOf(term.value, 'TEXT and BODY').toLowerCase() };
    case 'header':
      if (typeof term.header !== 'string') return invalid('HEADER needs a field name');
      return { kind: 'header', name: term.header, needle: stringOf(term.value, 'HEADER').toLowerCase() };
    default:
      return { kind: 'constant', value: false };
  }
}

function compare(a: string | number, operator: Operator, b: string | number): boolean {
  switch (operator) {
    case '<':
      return a < b;
    case '=':
      return a === b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      return false;
  }
}

/**
 * The day SENTBEFORE/SENTON/SENTSINCE compare: the Date header (parsedHeader.date), else the
 * internal date. Where the matcher has no answer (it throws on a Date header `new Date` cannot read,
 * and on several Date headers) this takes the last Date header, else the internal date, as
 * WildDuck's own store does (lib/message-handler.js, hdate).
 */
function sentDay(dateHeader: unknown, internalDate: number): string | undefined {
  const header = Array.isArray(dateHeader) ? dateHeader[dateHeader.length - 1] : dateHeader;
  if (typeof header === 'string' && header !== '') {
    const day = shortDate(new Date(header));
    if (day !== undefined) return day;
  }
  return shortDate(new Date(internalDate));
}

// --- one message, as the matcher sees it ------------------------------------------------------

/** What the matcher is given for a message: its bytes, tree, listing and flags. */
class MessageView {
  private lowerText: string | undefined;
  private lowerBody: string | undefined;

  constructor(
    readonly uid: number,
    readonly raw: Buffer,
    readonly tree: MimeNode,
    readonly internalDate: number,
  ) {}

  text(): string {
    return (this.lowerText ??= rebuildMessage(this.tree, false).toString().toLowerCase());
  }

  body(): string {
    return (this.lowerBody ??= rebuildMessage(this.tree, true).toString().toLowerCase());
  }
}

/** matchSearchTerm, for one message. */
function matches(node: Node, message: MessageView): boolean {
  switch (node.kind) {
    case 'and':
      return node.items.every((item) => matches(item, message));
    case 'or':
      return node.items.some((item) => matches(item, message));
    case 'not':
      return !matches(node.item, message);
    case 'constant':
      return node.value;
    case 'uid':
      return node.uids.has(message.uid);
    case 'modseq':
      // Coffer's MODSEQ of a message is its UID (listings never change).
      return message.uid >= node.min;
    case 'size':
      // The stored size is the archived bytes' length.
      return compare(message.raw.length, node.operator, node.value);
    case 'internaldate': {
      const day = shortDate(new Date(message.internalDate));
      return day !== undefined && compare(day, node.operator, node.day);
    }
    case 'date': {
      const day = sentDay(message.tree.parsedHeader?.date, message.internalDate);
      return day !== undefined && compare(day, node.operator, node.day);
    }
    case 'text':
      return message.text().includes(node.needle);
    case 'body':
      return message.body().includes(node.needle);
    case 'header':
      return (message.tree.header ?? []).some((line) => {
        const { name, value } = headerField(line);
        return name === node.name && (node.needle === '' || value.toLowerCase().includes(node.needle));
      });
  }
}

// --- the whole folder, through the index ---------------------------------------------------------

// Per message of the folder: the criterion does not hold, holds, or must be checked on the message.
const NO = 0;
const YES = 1;
const MAYBE = 2;
type Answers = Uint8Array;

/** Messages checked on their bytes at a time: bounded memory, a few store reads in flight. */
const CHECK_BATCH = 32;
/** Metadata records read at a time (SENT* criteria). */
const META_BATCH = 1024;

/**
 * How a text criterion is found in the index: `found` holds the messages that may match (exactly
 * those, when `exact`), `partial` those whose text there the index does not hold.
 */
type TextPlan = { kind: 'all'; answer: typeof YES | typeof MAYBE } | { kind: 'index'; found: Query; partial: Query; exact: boolean };

const TEXT_FIELDS: readonly SearchField[] = ['imap-header', 'imap-body'];
const BODY_FIELDS: readonly SearchField[] = ['imap-body'];
const HEADER_FIELDS: readonly SearchField[] = ['imap-header'];
const HEADER_NAME_FIELDS: readonly SearchField[] = ['imap-header-name'];

const textQuery = (fields: readonly SearchField[], match: Extract<Query, { op: 'text' }>['match']): Query => ({ op: 'text', fields, match });
const partialQuery = (fields: readonly SearchField[]): Query => textQuery(fields, { kind: 'term', term: IMAP_PARTIAL_TERM });

/**
 * What the index must hold for `needle` to occur in a field's text. A match in the text covers whole
 * runs for the needle's inner words, ends a run with its first word and starts one with its last
 * (when the needle has a non-word character there), and lies inside a run when it is one word.
 * Undefined when the needle has no word (punctuation only) or a lone surrogate: nothing to look up.
 */
function wordConditions(needle: string, fields: readonly SearchField[]): { conditions: Query[]; exact: boolean } | undefined {
  const words = imapWords(needle);
  if (!words?.length) return undefined;
  const conditions: Query[] = [];
  for (const { text, boundedBefore, boundedAfter } of words) {
    // A run of up to IMAP_TERM_MAX units is a term; a longer one's first window starts it and its
    // last ends it, each at least IMAP_TERM_MAX - 1 units long (a surrogate pair is never split).
    if (!boundedBefore && !boundedAfter ? text.length <= IMAP_WORD_MAX : text.length < IMAP_TERM_MAX) {
      if (boundedBefore && boundedAfter) conditions.push(textQuery(fields, { kind: 'term', term: text }));
      else if (boundedBefore) conditions.push(textQuery(fields, { kind: 'prefix', prefix: text }));
      else if (boundedAfter) conditions.push(textQuery(fields, { kind: 'suffix', suffix: text }));
      else conditions.push(textQuery(fields, { kind: 'infix', infix: text }));
    } else {
      // Longer than a window can be sure to hold whole: each overlapping piece lies in some term.
      for (const piece of pieces(text)) conditions.push(textQuery(fields, { kind: 'infix', infix: piece }));
    }
  }
  // One word and nothing else: the terms containing it are exactly the texts containing it.
  const only = words[0]!;
  const exact = words.length === 1 && !only.boundedBefore && !only.boundedAfter && only.text.length <= IMAP_WORD_MAX;
  return { conditions, exact };
}

/** Overlapping pieces of at most IMAP_WORD_MAX units covering a long word, none with half a surrogate pair. */
function pieces(word: string): string[] {
  const found: string[] = [];
  for (let at = 0; ; at += IMAP_WORD_MAX >> 1) {
    const end = Math.min(word.length, at + IMAP_WORD_MAX);
    // Dropping a dangling half keeps the piece a substring of the word, and of its code points.
    found.push(word.slice(end - IMAP_WORD_MAX, end).replace(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/g, ''));
    if (end === word.length) return found;
  }
}

const and = (items: Query[]): Query => (items.length === 1 ? items[0]! : { op: 'and', items });

function planText(node: Extract<Node, { kind: 'text' | 'body' | 'header' }>): TextPlan {
  const { needle } = node;
  if (node.kind !== 'header') {
    // indexOf('') is 0: every message.
    if (needle === '') return { kind: 'all', answer: YES };
    const fields = node.kind === 'text' ? TEXT_FIELDS : BODY_FIELDS;
    const words = wordConditions(needle, fields);
    // Punctuation only ("@@", "--"): no word to look up, every message is checked.
    if (!words) return { kind: 'all', answer: MAYBE };
    return { kind: 'index', found: and(words.conditions), partial: partialQuery(fields), exact: words.exact };
  }
  const { name } = node;
  // Header names are indexed when they are at most a term long; others are checked everywhere.
  const named = name !== '' && name.length <= IMAP_TERM_MAX ? textQuery(HEADER_NAME_FIELDS, { kind: 'term', term: name }) : undefined;
  if (needle === '') return named ? { kind: 'index', found: named, partial: partialQuery(HEADER_NAME_FIELDS), exact: true } : { kind: 'all', answer: MAYBE };
  const valueField = IMAP_VALUE_FIELDS.get(name);
  if (valueField) {
    // SUBJECT, FROM, TO, CC, BCC: the field holds exactly these lines' values, as the matcher reads them.
    const words = wordConditions(needle, [valueField]);
    if (!words) return named ? { kind: 'index', found: named, partial: partialQuery([valueField]), exact: false } : { kind: 'all', answer: MAYBE };
    return { kind: 'index', found: and(words.conditions), partial: partialQuery([valueField]), exact: words.exact };
  }
  // Any other field: its value is somewhere in the header block. The matcher reads header lines
  // byte by byte (latin1) while the block's terms are of UTF-8 text; both agree on ASCII only.
  const conditions = [...(named ? [named] : [])];
  if (/^[\x00-\x7f]*$/.test(needle)) conditions.push(...(wordConditions(needle, HEADER_FIELDS)?.conditions ?? []));
  if (!conditions.length) return { kind: 'all', answer: MAYBE };
  return { kind: 'index', found: and(conditions), partial: partialQuery(HEADER_FIELDS), exact: false };
}

/** Every UID in uidList matching the imap-core parsed query, ascending. Throws CofferError (InvalidArgument) for criteria it cannot answer. */
export async function searchMailbox(context: MailboxSearchContext, query: readonly ImapSearchTerm[]): Promise<number[]> {
  const root = compile(query);
  const uids = context.uidList;
  if (!uids.length) return [];
  const answers = await new FolderAnswers(context, root).answer();
  const found: number[] = [];
  const unsure: number[] = [];
  answers.forEach((answer, i) => {
    if (answer === YES) found.push(uids[i]!);
    else if (answer === MAYBE) unsure.push(uids[i]!);
  });
  if (unsure.length) found.push(...(await checkMessages(context, root, unsure)));
  return found.sort((a, b) => a - b);
}

/** Answers every criterion for every message of the folder from the index and the store's records. */
class FolderAnswers {
  private readonly size: number;
  private readonly plans = new Map<Node, TextPlan | Query>();
  private readonly queries: Query[] = [];
  /** Query (as JSON: the same criterion twice is evaluated once) → its position in `queries`. */
  private readonly queryIndex = new Map<string, number>();
  private docOf = new Map<number, number>();
  private matches: Bitset[] = [];
  private entries = new Map<number, EntryRecord>();
  private sentDays = new Map<number, string | undefined>();

  constructor(
    private readonly context: MailboxSearchContext,
    private readonly root: Node,
  ) {
    this.size = context.uidList.length;
  }

  async answer(): Promise<Answers> {
    let needsEntries = false;
    let needsSentDays = false;
    const visit = (node: Node): void => {
      switch (node.kind) {
        case 'and':
        case 'or':
          node.items.forEach(visit);
          return;
        case 'not':
          visit(node.item);
          return;
        case 'text':
        case 'body':
        case 'header': {
          const plan = planText(node);
          this.plans.set(node, plan);
          if (plan.kind === 'index') this.addQueries(plan.found, plan.partial);
          return;
        }
        case 'size': {
          const query = sizeQuery(node.operator, node.value);
          this.plans.set(node, query);
          this.addQueries(query);
          return;
        }
        case 'internaldate':
          needsEntries = true;
          return;
        case 'date':
          needsEntries = needsSentDays = true;
          return;
        default:
          return;
      }
    };
    visit(this.root);
    if (this.queries.length) {
      // IMAP must answer whatever is asked: no cap on how many terms a word part stands for.
      ({ docOf: this.docOf, matches: this.matches } = await evaluateInFolder(this.context.index, this.context.folderId, this.queries, { maxExpansion: Infinity }));
    }
    if (needsEntries) await this.loadEntries();
    if (needsSentDays) await this.loadSentDays();
    return this.evaluate(this.root);
  }

  private addQueries(...queries: Query[]): void {
    for (const query of queries) {
      const key = JSON.stringify(query);
      if (this.queryIndex.has(key)) continue;
      this.queryIndex.set(key, this.queries.length);
      this.queries.push(query);
    }
  }

  private async loadEntries(): Promise<void> {
    const wanted = new Set(this.context.uidList);
    for await (const { uid, entry } of this.context.store.entries(this.context.folderId)) if (wanted.has(uid)) this.entries.set(uid, entry);
  }

  /** Each message's SENT* day from its stored ENVELOPE, whose date is imap-core's parsedHeader.date. */
  private async loadSentDays(): Promise<void> {
    const listed = [...this.entries];
    for (let start = 0; start < listed.length; start += META_BATCH) {
      const batch = listed.slice(start, start + META_BATCH);
      const metas = await this.context.store.getMessages(batch.map(([, entry]) => entry.sha));
      batch.forEach(([uid, entry], i) => {
        const envelope = metas[i]?.envelope;
        // A record without an ENVELOPE (not possible for stored mail) leaves the message to be checked.
        if (Array.isArray(envelope) && envelope.length >= 10) this.sentDays.set(uid, sentDay(envelope[0], entry.internalDate));
      });
    }
  }

  private docs(query: Query): Bitset {
    return this.matches[this.queryIndex.get(JSON.stringify(query))!]!;
  }

  private evaluate(node: Node): Answers {
    const { size } = this;
    const uids = this.context.uidList;
    const out = new Uint8Array(size);
    switch (node.kind) {
      case 'and': {
        out.fill(YES);
        for (const item of node.items) {
          const part = this.evaluate(item);
          for (let i = 0; i < size; i++) if (out[i] !== NO) out[i] = part[i] === NO ? NO : part[i] === MAYBE ? MAYBE : out[i]!;
        }
        return out;
      }
      case 'or': {
        for (const item of node.items) {
          const part = this.evaluate(item);
          for (let i = 0; i < size; i++) if (out[i] !== YES) out[i] = part[i] === YES ? YES : part[i] === MAYBE ? MAYBE : out[i]!;
        }
        return out;
      }
      case 'not': {
        const part = this.evaluate(node.item);
        for (let i = 0; i < size; i++) out[i] = part[i] === YES ? NO : part[i] === NO ? YES : MAYBE;
        return out;
      }
      case 'constant':
        return out.fill(node.value ? YES : NO);
      case 'uid':
        for (let i = 0; i < size; i++) out[i] = node.uids.has(uids[i]!) ? YES : NO;
        return out;
      case 'modseq':
        for (let i = 0; i < size; i++) out[i] = uids[i]! >= node.min ? YES : NO;
        return out;
      case 'internaldate':
      case 'date':
        for (let i = 0; i < size; i++) {
          const entry = this.entries.get(uids[i]!);
          const day = !entry ? undefined : node.kind === 'date' ? this.sentDays.get(uids[i]!) : shortDate(new Date(entry.internalDate));
          out[i] = day === undefined ? MAYBE : compare(day, node.operator, node.day) ? YES : NO;
        }
        return out;
      case 'size': {
        const docs = this.docs(this.plans.get(node) as Query);
        for (let i = 0; i < size; i++) {
          const doc = this.docOf.get(uids[i]!);
          out[i] = doc === undefined ? MAYBE : docs.has(doc) ? YES : NO;
        }
        return out;
      }
      case 'text':
      case 'body':
      case 'header': {
        const plan = this.plans.get(node) as TextPlan;
        if (plan.kind === 'all') return out.fill(plan.answer);
        const found = this.docs(plan.found);
        const partial = this.docs(plan.partial);
        const hit = plan.exact ? YES : MAYBE;
        for (let i = 0; i < size; i++) {
          const doc = this.docOf.get(uids[i]!);
          // Not (yet) in the index, or its text there not indexed: checked on its bytes.
          out[i] = doc === undefined || partial.has(doc) ? MAYBE : found.has(doc) ? hit : NO;
        }
        return out;
      }
    }
  }
}

/** SMALLER / LARGER / (size =) as the index's inclusive size range (sizes are whole bytes). */
function sizeQuery(operator: Operator, value: number): Query {
  switch (operator) {
    case '<':
      return { op: 'size', max: Math.ceil(value) - 1 };
    case '>':
      return { op: 'size', min: Math.floor(value) + 1 };
    case '=':
      return { op: 'size', min: value, max: value };
    default:
      return { op: 'not', item: { op: 'all' } };
  }
}

/** The matcher's answer for each of these UIDs, from their archived bytes, a batch at a time. */
async function checkMessages(context: MailboxSearchContext, root: Node, uids: readonly number[]): Promise<number[]> {
  const { store, folderId } = context;
  const found: number[] = [];
  for (let start = 0; start < uids.length; start += CHECK_BATCH) {
    const batch = uids.slice(start, start + CHECK_BATCH);
    const entries = await store.getEntries(batch.map((uid) => ({ folderId, uid })));
    const raws = await Promise.all(entries.map((entry) => (entry ? store.readRaw(entry.sha) : undefined)));
    batch.forEach((uid, i) => {
      const entry = entries[i];
      const raw = raws[i];
      // A UID the folder does not hold (the session's view is older): nothing to match.
      if (!entry || !raw) return;
      const tree = parseWithinLimits(raw);
      // Not taken apart here (too costly, too deep, unparseable): the index found it, and an
      // archive search had better show a message too many than hide one.
      if (typeof tree === 'string' || matches(root, new MessageView(uid, raw, tree, entry.internalDate))) found.push(uid);
    });
  }
  return found;
}
