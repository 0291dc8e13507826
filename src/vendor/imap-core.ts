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

interface MimeIndexer {
  parseMimeTree(raw: Buffer): MimeNode;
  createEnvelope(header: Record<string, unknown>): ImapStructure;
  BodyStructure: new (tree: MimeNode, options: { upperCaseKeys: boolean; skipContentLocation: boolean }) => { create(): ImapStructure };
}

let indexer: MimeIndexer | undefined;

/**
 * The three modules imap-core's Indexer builds on, loaded directly: indexer.js itself also pulls in
 * HTML-to-text and charset tables that ingest never uses (slower start, more memory per worker).
 */
function loadIndexer(): MimeIndexer {
  if (!indexer) {
    // Without this flag WildDuck's config loader parses our argv (--config=...) and may exit.
    process.env.DISABLE_WILD_CONFIG = 'true';
    const require = createRequire(import.meta.url);
    const base = '@zone-eu/wildduck/imap-core/lib/indexer';
    indexer = {
      parseMimeTree: require(`${base}/parse-mime-tree.js`) as MimeIndexer['parseMimeTree'],
      createEnvelope: require(`${base}/create-envelope.js`) as MimeIndexer['createEnvelope'],
      BodyStructure: require(`${base}/body-structure.js`) as MimeIndexer['BodyStructure'],
    };
  }
  return indexer;
}

export function parseMimeTree(raw: Buffer): MimeNode {
  return loadIndexer().parseMimeTree(raw);
}

/** Indexer.getEnvelope, exactly. */
export function buildEnvelope(tree: MimeNode): ImapStructure {
  return loadIndexer().createEnvelope(tree.parsedHeader ?? {});
}

/** Indexer.getBodyStructure, exactly: the full BODYSTRUCTURE with extension data. */
export function buildBodyStructure(tree: MimeNode): ImapStructure {
  const { BodyStructure } = loadIndexer();
  return new BodyStructure(tree, { upperCaseKeys: true, skipContentLocation: false }).create();
}
