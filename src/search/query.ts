// The search engine's query interface: a tree of criteria, independent of any syntax. The quick
// search text syntax (query-parse.ts) and IMAP SEARCH both compile to it.

/** Where a text criterion looks. `any` is every field (the quick search without a field prefix). */
export const TEXT_FIELDS = ['body', 'subject', 'from', 'to', 'cc', 'bcc', 'acontent', 'attachment', 'messageid'] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

/** How the words of a text criterion match; every string here is already normalised (normalize.ts). */
export type TextMatch =
  /** A word; one made of parts joined by . @ - _ / \ matches the whole or its parts in sequence. */
  | { kind: 'word'; word: string }
  /** `auto*`: any term starting with prefix. */
  | { kind: 'prefix'; prefix: string }
  /** `*example.com`: any term ending with suffix. */
  | { kind: 'suffix'; suffix: string }
  /** `Me?er`: `?` stands for exactly one letter or digit; never first or last. */
  | { kind: 'wildcard'; pattern: string }
  /** `"exact phrase"`: the words consecutively, in this order. */
  | { kind: 'phrase'; words: string[] };

/** A date range in ms since epoch: `since` inclusive, `before` exclusive; either may be absent. */
export interface TimeRange {
  since?: number;
  before?: number;
}

export type Priority = 'low' | 'normal' | 'high';

export type Query =
  | { op: 'all' }
  | { op: 'and'; items: Query[] }
  | { op: 'or'; items: Query[] }
  | { op: 'not'; item: Query }
  | { op: 'text'; fields: readonly TextField[] | 'any'; match: TextMatch }
  /** The message's own date (Date header; else when it was received). */
  | ({ op: 'date' } & TimeRange)
  /** When Coffer archived the message. */
  | ({ op: 'archived' } & TimeRange)
  /** Raw message size in bytes: `min` inclusive, `max` inclusive. */
  | { op: 'size'; min?: number; max?: number }
  | { op: 'attachments'; present: boolean }
  | { op: 'priority'; levels: readonly Priority[] }
  /** Listings by IMAP UID in their folder; ranges inclusive. */
  | { op: 'uid'; ranges: readonly (readonly [number, number])[] }
  /**
   * Listings a protocol layer selects by what only it knows (IMAP flags, sequence numbers): the
   * engine asks it for each candidate listing.
   */
  | { op: 'listing'; test: (folderId: number, uid: number) => boolean };
