// Evaluates a query tree against the index. Every criterion that depends only on the message
// (text, dates, size, attachments, priority) becomes a bitmap of document ids; criteria on a
// listing (UID, what a protocol layer knows) become a test per listing. AND/OR/NOT combine them.
import { CofferError, ErrorCodes } from '../errors.js';
import { Bitset } from './bitset.js';
import { DOCS_PER_BLOCK, type DocValueBlock } from './doc-values.js';
import { fieldMask, positionField } from './fields.js';
import { addPostingDocs, PostingCursor } from './postings.js';
import type { Priority, Query, TextMatch } from './query.js';
import type { IndexView, SearchIndex } from './search-index.js';
import { textOf } from './term-blocks.js';
import { splitWord } from './tokenize.js';

/** How many distinct terms one wildcard may stand for before the query is refused as too broad. */
export const MAX_WILDCARD_TERMS = 100_000;

export type ListingTest = (docId: number, folderId: number, uid: number) => boolean;

/** A query's answer: a set of messages, or, when it involves listing criteria, a test per listing. */
export type Matches = { kind: 'docs'; docs: Bitset } | { kind: 'listings'; test: ListingTest };

export function listingTest(matches: Matches): ListingTest {
  if (matches.kind === 'listings') return matches.test;
  const { docs } = matches;
  return (docId) => docs.has(docId);
}

export interface EvaluateOptions {
  /**
   * How many distinct terms one wildcard, prefix, suffix or infix may stand for before the query
   * is refused (MAX_WILDCARD_TERMS). IMAP SEARCH, which must answer whatever is asked, lifts it.
   */
  maxExpansion?: number;
}

export async function evaluate(index: SearchIndex, view: IndexView, query: Query, options: EvaluateOptions = {}): Promise<Matches> {
  return new Evaluation(index, view, options.maxExpansion ?? MAX_WILDCARD_TERMS).run(query);
}

class Evaluation {
  private readonly size: number;
  private readonly postingCache = new Map<string, Promise<(Buffer | undefined)[]>>();
  private blocks: Promise<DocValueBlock[]> | undefined;

  constructor(
    private readonly index: SearchIndex,
    private readonly view: IndexView,
    private readonly maxExpansion: number,
  ) {
    this.size = view.maxDoc + 1;
  }

  async run(query: Query): Promise<Matches> {
    switch (query.op) {
      case 'all':
        return this.docs(this.universe());
      case 'and':
        return this.and(await Promise.all(query.items.map((item) => this.run(item))));
      case 'or':
        return this.or(await Promise.all(query.items.map((item) => this.run(item))));
      case 'not':
        return this.not(await this.run(query.item));
      case 'text':
        return this.docs(await this.text(query.match, fieldMask(query.fields)));
      case 'date':
        return this.docs(await this.byValues((b, s) => inRange(b.dates[s]!, query.since, query.before)));
      case 'archived':
        return this.docs(await this.byValues((b, s) => inRange(b.archived[s]!, query.since, query.before)));
      case 'size':
        return this.docs(await this.byValues((b, s) => b.sizes[s]! >= (query.min ?? 0) && b.sizes[s]! <= (query.max ?? Infinity)));
      case 'attachments':
        return this.docs(await this.byValues((b, s) => b.hasAttachments(s) === query.present));
      case 'priority': {
        const wanted = new Set(query.levels);
        return this.docs(await this.byValues((b, s) => wanted.has(priorityLevel(b.priority(s)))));
      }
      case 'uid':
        return { kind: 'listings', test: (_doc, _folder, uid) => query.ranges.some(([low, high]) => uid >= low && uid <= high) };
      case 'listing':
        return { kind: 'listings', test: (_doc, folderId, uid) => query.test(folderId, uid) };
    }
  }

  private docs(docs: Bitset): Matches {
    return { kind: 'docs', docs };
  }

  /** Every indexed message (ids run from 1). */
  private universe(): Bitset {
    return Bitset.range(1, this.size);
  }

  private and(parts: Matches[]): Matches {
    const docs = this.universe();
    const tests: ListingTest[] = [];
    for (const part of parts) {
      if (part.kind === 'docs') docs.and(part.docs);
      else tests.push(part.test);
    }
    if (!tests.length) return this.docs(docs);
    return { kind: 'listings', test: (doc, folder, uid) => docs.has(doc) && tests.every((test) => test(doc, folder, uid)) };
  }

  private or(parts: Matches[]): Matches {
    const docs = new Bitset(this.size);
    const tests: ListingTest[] = [];
    for (const part of parts) {
      if (part.kind === 'docs') docs.or(part.docs);
      else tests.push(part.test);
    }
    if (!tests.length) return this.docs(docs);
    return { kind: 'listings', test: (doc, folder, uid) => docs.has(doc) || tests.some((test) => test(doc, folder, uid)) };
  }

  private not(part: Matches): Matches {
    if (part.kind === 'docs') return this.docs(this.universe().andNot(part.docs));
    const { test } = part;
    return { kind: 'listings', test: (doc, folder, uid) => !test(doc, folder, uid) };
  }

  // --- text ----------------------------------------------------------------------------------

  private async text(match: TextMatch, mask: number): Promise<Bitset> {
    switch (match.kind) {
      case 'word': {
        const parts = splitWord(match.word);
        if (parts.length <= 1) return this.term(match.word, mask);
        // A compound is found whole, or as its parts in sequence (inside a longer compound).
        const [whole, sequence] = await Promise.all([this.term(match.word, mask), this.phrase(parts, mask)]);
        return whole.or(sequence);
      }
      case 'phrase':
        return this.phrase(match.words.flatMap(splitWord), mask);
      case 'prefix':
        return this.prefix(match.prefix, mask);
      case 'suffix':
        return this.suffix(match.suffix, mask);
      case 'wildcard':
        return this.wildcard(match.pattern, mask);
      case 'term':
        return this.term(match.term, mask);
      case 'infix':
        return this.expand(`*${match.infix}*`, mask, (segment) => this.index.withInfix(this.view, segment, match.infix));
    }
  }

  private postings(term: string): Promise<(Buffer | undefined)[]> {
    let found = this.postingCache.get(term);
    if (!found) this.postingCache.set(term, (found = this.index.postings(this.view, term)));
    return found;
  }

  private async term(term: string, mask: number): Promise<Bitset> {
    const docs = new Bitset(this.size);
    for (const posting of await this.postings(term)) if (posting) addPostingDocs(posting, mask, docs);
    return docs;
  }

  private async phrase(words: string[], mask: number): Promise<Bitset> {
    if (words.length === 0) return new Bitset(this.size);
    if (words.length === 1) return this.term(words[0]!, mask);
    const candidates = this.universe();
    for (const docs of await Promise.all(words.map((word) => this.term(word, mask)))) candidates.and(docs);
    const result = new Bitset(this.size);
    if (candidates.isEmpty()) return result;
    const postings = await Promise.all(words.map((word) => this.postings(word)));
    const lists = words.map((): number[] => []);
    this.view.segments.forEach((segment, s) => {
      const cursors = postings.map((perSegment) => perSegment[s] && new PostingCursor(perSegment[s]));
      if (cursors.some((cursor) => !cursor)) return;
      candidates.forEachBetween(segment.firstDoc, segment.lastDoc, (doc) => {
        for (let w = 0; w < cursors.length; w++) {
          const cursor = cursors[w]!;
          if (!cursor.seek(doc) || cursor.doc !== doc) return;
          cursor.readPositions(lists[w]!);
        }
        const [first, ...rest] = lists;
        if (first!.some((start) => (mask & (1 << positionField(start))) !== 0 && rest.every((list, i) => includesSorted(list, start + i + 1)))) result.add(doc);
      });
    });
    return result;
  }

  private async prefix(prefix: string, mask: number): Promise<Bitset> {
    return this.expand(`${prefix}*`, mask, (segment) => this.index.withPrefix(this.view, segment, prefix));
  }

  private async suffix(suffix: string, mask: number): Promise<Bitset> {
    return this.expand(`*${suffix}`, mask, (segment) => this.index.withSuffix(this.view, segment, suffix));
  }

  private async wildcard(pattern: string, mask: number): Promise<Bitset> {
    const literal = pattern.slice(0, pattern.search(/[?*]/));
    const regex = new RegExp(`^${pattern.split('').map(wildcardChar).join('')}$`, 'u');
    return this.expand(pattern, mask, (segment) => this.index.withPrefix(this.view, segment, literal), (term) => regex.test(textOf(term)));
  }

  /** The messages of every term a wildcard stands for, refusing patterns that stand for too many. */
  private async expand(
    pattern: string,
    mask: number,
    termsOf: (segment: number) => AsyncIterable<[string, Buffer]>,
    accept: (term: string) => boolean = () => true,
  ): Promise<Bitset> {
    const docs = new Bitset(this.size);
    const terms = new Set<string>();
    for (const segment of this.view.segments) {
      for await (const [term, posting] of termsOf(segment.id)) {
        if (!accept(term)) continue;
        // Only words in the fields asked for count: the IMAP fields' terms are no quick-search words.
        if (!addPostingDocs(posting, mask, docs)) continue;
        terms.add(term);
        if (terms.size > this.maxExpansion) {
          throw new CofferError(ErrorCodes.QueryInvalid, `${pattern} matches more than ${this.maxExpansion.toLocaleString('en')} different words; make it longer`);
        }
      }
    }
    return docs;
  }

  // --- per-message values --------------------------------------------------------------------

  private async byValues(test: (block: DocValueBlock, slot: number) => boolean): Promise<Bitset> {
    this.blocks ??= this.index.docValueBlocks(this.view.maxDoc);
    const blocks = await this.blocks;
    const docs = new Bitset(this.size);
    for (let doc = 1; doc <= this.view.maxDoc; doc++) {
      const block = blocks[Math.floor(doc / DOCS_PER_BLOCK)]!;
      const slot = doc % DOCS_PER_BLOCK;
      if (block.present(slot) && test(block, slot)) docs.add(doc);
    }
    return docs;
  }
}

/** Binary search in an ascending list (positions are stored ascending). */
function includesSorted(list: readonly number[], value: number): boolean {
  let low = 0;
  let high = list.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = list[middle]!;
    if (found === value) return true;
    if (found < value) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

function wildcardChar(char: string): string {
  if (char === '?') return '[\\p{L}\\p{N}]';
  if (char === '*') return '.*';
  return char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function inRange(value: number, since: number | undefined, before: number | undefined): boolean {
  return (since === undefined || value >= since) && (before === undefined || value < before);
}

function priorityLevel(priority: number): Priority {
  if (priority < 3) return 'high';
  if (priority > 3) return 'low';
  return 'normal';
}
