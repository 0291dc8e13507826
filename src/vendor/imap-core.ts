// The only module that loads WildDuck's imap-core. imap-core is loaded by deep path, never the
// package root (which would start WildDuck), and only on first use, so importing this file has
// no side effects. Ingest uses its MIME indexer so that the ENVELOPE and BODYSTRUCTURE stored at
// ingest are exactly what imap-core serves later.
import { createRequire } from 'node:module';

/** A node of imap-core's parsed MIME tree (only the fields Coffer reads). */
export interface MimeNode {
  header: string[];
  parsedHeader: Record<string, unknown>;
  body?: Buffer | false;
  multipart?: string | false;
  boundary?: string | false;
  childNodes?: MimeNode[];
  message?: MimeNode;
  lineCount?: number;
  size?: number;
}

/** IMAP ENVELOPE / BODYSTRUCTURE as imap-core builds them: nested arrays of strings, Buffers, numbers, nulls. */
export type ImapStructure = unknown[];

interface Indexer {
  parseMimeTree(raw: Buffer): MimeNode;
  getEnvelope(tree: MimeNode): ImapStructure;
  getBodyStructure(tree: MimeNode): ImapStructure;
}

let indexer: Indexer | undefined;

function loadIndexer(): Indexer {
  if (!indexer) {
    // Without this flag WildDuck's config loader parses our argv (--config=...) and may exit.
    process.env.DISABLE_WILD_CONFIG = 'true';
    const require = createRequire(import.meta.url);
    const IndexerClass = require('@zone-eu/wildduck/imap-core/lib/indexer/indexer.js') as new () => Indexer;
    indexer = new IndexerClass();
  }
  return indexer;
}

export function parseMimeTree(raw: Buffer): MimeNode {
  return loadIndexer().parseMimeTree(raw);
}

export function buildEnvelope(tree: MimeNode): ImapStructure {
  return loadIndexer().getEnvelope(tree);
}

export function buildBodyStructure(tree: MimeNode): ImapStructure {
  return loadIndexer().getBodyStructure(tree);
}
