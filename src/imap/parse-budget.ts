// The IMAP server takes a message apart (imap-core's parseMimeTree) on the main thread for body
// sections and for SEARCH checks. That parser holds every line as strings: ~140 bytes of heap a
// line plus ~4 a byte (measured: 10 MB of empty lines took 734 MB, of 78-byte lines 62 MB). One
// archived message of a few million short lines would exhaust the heap, and a heap out of memory
// on the main thread ends the daemon. A message whose parse would cost more than the budget is
// not taken apart here: FETCH answers NO [LIMIT] for its sections (BODY[] still serves its bytes)
// and SEARCH counts it as a match of the index's, unchecked.
import { getHeapStatistics } from 'node:v8';
import { parseMimeTree, type MimeNode } from '../vendor/imap-core.js';

const HEAP_PER_LINE = 140;
const HEAP_PER_BYTE = 4;
/**
 * At most this much heap for one parse, and at most half of what the heap has left (a message with
 * a 50 MB attachment in base64 lines is estimated at ~390 MB).
 */
const MAX_PARSE_HEAP = 512 * 1024 * 1024;
/** Below this size the worst case (a line per byte) is within budget: no need to count lines. */
const COUNT_LINES_FROM = 256 * 1024;

/** An upper bound of the heap imap-core's parser takes for `raw` (CR and LF each count as a line). */
function parseHeapEstimate(raw: Buffer): number {
  const lines = raw.length < COUNT_LINES_FROM ? raw.length : occurrences(raw, 0x0a) + occurrences(raw, 0x0d);
  return lines * HEAP_PER_LINE + raw.length * HEAP_PER_BYTE;
}

/** The MIME tree of `raw`, or undefined when parsing it could exhaust the heap. */
export function parseWithinBudget(raw: Buffer): MimeNode | undefined {
  if (raw.length >= COUNT_LINES_FROM) {
    const { heap_size_limit: limit, used_heap_size: used } = getHeapStatistics();
    if (parseHeapEstimate(raw) > Math.min(MAX_PARSE_HEAP, (limit - used) / 2)) return undefined;
  }
  return parseMimeTree(raw);
}

function occurrences(bytes: Buffer, byte: number): number {
  let count = 0;
  for (let at = bytes.indexOf(byte); at !== -1; at = bytes.indexOf(byte, at + 1)) count++;
  return count;
}
