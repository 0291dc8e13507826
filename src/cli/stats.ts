// `coffer stats`: messages and bytes per archive with their share of the total (manual ch. 5.2),
// and the store totals: distinct messages, raw bytes and the bytes they take once stored.
import type { Coffer } from '../app.js';
import { formatBytes, formatTable, printJson, printLine, type Output } from './output.js';

export interface ArchiveStats {
  name: string;
  messages: number;
  bytes: number;
  folders: number;
}

export interface StoreStats {
  archives: ArchiveStats[];
  /** Distinct messages stored (a message listed in several folders counts once). */
  messages: number;
  /** Raw bytes of the distinct messages. */
  bytes: number;
  /** Bytes the stored (compressed, maybe encrypted) content and metadata take. */
  storedBytes: number;
  /** The search index: messages and listings it covers (on disk), and its segments. */
  index: { messages: number; listings: number; segments: number };
}

export async function collectStats(coffer: Coffer): Promise<StoreStats> {
  const archives: ArchiveStats[] = [];
  for (const archive of await coffer.store.listArchives()) {
    const folders = await coffer.store.listFolders(archive.id);
    archives.push({
      name: archive.name,
      messages: folders.reduce((sum, f) => sum + f.messages, 0),
      bytes: folders.reduce((sum, f) => sum + f.bytes, 0),
      folders: folders.length,
    });
  }
  const counters = await coffer.store.counters();
  const index = coffer.index.stats();
  return {
    archives,
    messages: counters.messages,
    bytes: counters.rawBytes,
    storedBytes: counters.storedBytes,
    index: { messages: index.messages, listings: index.changes, segments: index.segments },
  };
}

export function printStats(stats: StoreStats, output: Output, json: boolean): void {
  if (json) {
    printJson(output, stats);
    return;
  }
  const listed = stats.archives.reduce((sum, a) => sum + a.bytes, 0);
  const share = (bytes: number): string => (listed ? `${((100 * bytes) / listed).toFixed(1)}%` : '-');
  printLine(
    output.stdout,
    formatTable(
      ['archive', 'folders', 'messages', 'size', 'share'],
      stats.archives.map((a) => [a.name, String(a.folders), String(a.messages), formatBytes(a.bytes), share(a.bytes)]),
    ),
  );
  printLine(output.stdout);
  const ratio = stats.bytes ? ` (${((100 * stats.storedBytes) / stats.bytes).toFixed(1)}% of raw)` : '';
  printLine(output.stdout, `${stats.messages} distinct messages, ${formatBytes(stats.bytes)} raw, ${formatBytes(stats.storedBytes)} stored${ratio}`);
  printLine(output.stdout, `search index: ${stats.index.messages} messages in ${stats.index.listings} listings, ${stats.index.segments} segments`);
}
