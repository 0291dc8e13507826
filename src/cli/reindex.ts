// `coffer reindex`: drops the search index and builds it again from the store, e.g. after an
// upgrade that changes how text is indexed. Searches wait for it; intake goes on meanwhile.
import type { Coffer } from '../app.js';
import { printJson, printLine, type Output } from './output.js';

export interface ReindexSummary {
  messages: number;
  listings: number;
  seconds: number;
}

export async function runReindex(coffer: Coffer): Promise<ReindexSummary> {
  const started = process.hrtime.bigint();
  await coffer.index.rebuild();
  const stats = coffer.index.stats();
  return { messages: stats.messages, listings: stats.changes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

export function printReindexSummary(summary: ReindexSummary, output: Output, json: boolean): void {
  if (json) {
    printJson(output, summary);
    return;
  }
  printLine(output.stdout, `indexed ${summary.messages} messages in ${summary.listings} folder listings in ${summary.seconds.toFixed(1)} s`);
}
