// The search engine's query interface: a tree of criteria, independent of any syntax. The quick
// search text syntax (query-parse.ts) and IMAP SEARCH both compile to it.

/** Where a text criterion looks. `any` is every field (the quick search without a field prefix). */
export const TEXT_FIELDS = ['body', 'subject', 'from', 'to', 'cc', 'bcc', 'acontent', 'attachment', 'messageid'] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

/**
 * What IMAP SEARCH compares, as imap-core's reference matcher sees it (imap-text.ts): the header
 * block and the body as rebuilt from the MIME tree, undecoded; the header field names; and the
 * undecoded values of the header fields SUBJECT, FROM, TO, CC and BCC search. Their terms are the
 * case-folded (not otherwise normalised) runs of letters and digits of that text. Never part of
 * `any`: the quick search looks at decoded text only.
 */
export const IMAP_FIELDS = ['imap-header', 'imap-body', 'imap-header-name', 'imap-subject', 'imap-from', 'imap-to', 'imap-cc', 'imap-bcc'] as const;
export type ImapField = (typeof IMAP_FIELDS)[number];

export type SearchField = TextField | ImapField;

/**
 * How the words of a text criterion match; every string here is already normalised (normalize.ts),
 * or for the IMAP fields lowercased with String#toLowerCase (imap-text.ts).
 */
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
  | { kind: 'phrase'; words: string[] }
  /** Exactly this term, as stored (no splitting of compounds, which IMAP header names may look like). */
  | { kind: 'term'; term: string }
  /** Any term containing this text (IMAP SEARCH's substring match within a word). */
  | { kind: 'infix'; infix: string };

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
  | { op: 'text'; fields: readonly SearchField[] | 'any'; match: TextMatch }
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
