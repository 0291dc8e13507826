// imap-core's MIME parser (src/vendor/imap-core.ts) holds every line of a message as strings, a
// node object per part, and recurses once per level of nesting. Coffer parses every message it
// archives (ingest worker) and again on the IMAP main thread for body sections and SEARCH checks.
// A message of a few million short lines or of a hundred thousand tiny parts can exhaust the heap
// (on the main thread that ends the daemon), and a few thousand levels of nesting exhaust the
// stack. This module parses only what stays within limits; the callers treat the rest as a
// message whose structure is not analysed (ingest: headers only; IMAP: NO [LIMIT] for its sections,
// SEARCH keeps it as the index's match).
import { getHeapStatistics } from 'node:v8';
import { parseMimeTree, type MimeNode } from '../vendor/imap-core.js';

// Measured peaks (bench/README.md, "Hostile MIME"): ~57 bytes of heap per CRLF line (10 MB of
// empty lines took 734 MB on the IMAP main thread), ~4 a byte for long lines, ~2 KB per part.
const HEAP_PER_LINE = 140;
const HEAP_PER_BYTE = 4;
const HEAP_PER_BOUNDARY = 2048;
/**
 * At most this much heap for one parse, and at most half of what the heap has left (a message with
 * a 50 MB attachment in base64 lines is estimated at ~390 MB).
 */
const MAX_PARSE_HEAP = 512 * 1024 * 1024;
/** Below this size the worst case is within budget: no need to count. */
const COUNT_FROM = 64 * 1024;
/** Dovecot's limit too (CVE-2020-12100): deeper nesting is not taken apart. */
export const MAX_MIME_DEPTH = 100;

/**
 * An upper bound of the heap imap-core's parser takes for `raw`: CR and LF each count as a line,
 * and every line that starts with "--" as a part.
 */
function parseHeapEstimate(raw: Buffer): number {
  const lines = countOccurrences(raw, '\n') + countOccurrences(raw, '\r');
  return lines * HEAP_PER_LINE + raw.length * HEAP_PER_BYTE + countOccurrences(raw, '\n--') * HEAP_PER_BOUNDARY;
}

/** The MIME tree of `raw`, or why it is not taken apart (too costly, too deep, or unparseable). */
export function parseWithinLimits(raw: Buffer): MimeNode | string {
  if (raw.length >= COUNT_FROM) {
    const { heap_size_limit: limit, used_heap_size: used } = getHeapStatistics();
    const estimate = parseHeapEstimate(raw);
    if (estimate > Math.min(MAX_PARSE_HEAP, (limit - used) / 2)) return `its structure would need about ${Math.ceil(estimate / 1e6)} MB of memory to take apart`;
  }
  let tree: MimeNode;
  try {
    tree = parseMimeTree(raw);
  } catch (err) {
    return `MIME parser failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (depthExceeds(tree, MAX_MIME_DEPTH)) return `MIME parts nested deeper than ${MAX_MIME_DEPTH} levels`;
  return tree;
}

/** Whether the tree (attached messages included) is deeper than `limit`; without recursion. */
function depthExceeds(root: MimeNode, limit: number): boolean {
  const pending: [MimeNode, number][] = [[root, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (depth > limit) return true;
    for (const child of node.childNodes ?? []) pending.push([child, depth + 1]);
    if (node.message) pending.push([node.message, depth + 1]);
  }
  return false;
}

/** How many times `text` occurs in `bytes`, without overlaps. */
export function countOccurrences(bytes: Buffer, text: string): number {
  let count = 0;
  for (let at = bytes.indexOf(text); at !== -1; at = bytes.indexOf(text, at + text.length)) count++;
  return count;
}
