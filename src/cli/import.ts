// `coffer import eml|mbox|maildir`: reads a file source and feeds every message to the ingest
// pipeline with bounded concurrency (so memory stays flat however large the source), shows a
// progress bar on a terminal, and summarises what was archived, already there, flagged or failed.
import { SingleBar } from 'cli-progress';
import type { Coffer } from '../app.js';
import type { FileSource } from '../connectors/files/index.js';
import { describeError } from '../errors.js';
import type { IngestOutcome } from '../ingest/pipeline.js';
import { formatFolderPath } from './folder-path.js';
import { formatTable, printJson, printLine, type Output } from './output.js';

export interface ImportTarget {
  archive: string;
  /** Folder that receives messages at the source's top level; sub-paths are appended below it. */
  folder: readonly string[];
  /** Folder for a Maildir's own (root) messages; defaults to `folder`. */
  rootFolder?: readonly string[];
}

export interface ImportSummary {
  archive: string;
  folder: string;
  /** Newly archived and cleanly parsed. */
  archived: number;
  /** Already listed in the target folder; nothing written. */
  alreadyArchived: number;
  /** Newly archived byte for byte, but flagged: the message could not be parsed cleanly. */
  unparseable: number;
  /** Could not be read or stored. */
  failed: number;
  failures: { origin: string; error: string }[];
  flagged: { origin: string; problems: string[] }[];
  bytes: number;
  seconds: number;
}

// Enough messages in flight to keep every worker and the group commit busy, few enough bytes
// that memory stays flat whatever the source holds.
const MAX_IN_FLIGHT = 256;
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
const MAX_LISTED = 1000;

export async function runImport(coffer: Coffer, source: FileSource, target: ImportTarget, output: Output): Promise<ImportSummary> {
  const started = Date.now();
  const ingest = coffer.ingest();
  const summary: ImportSummary = {
    archive: target.archive,
    folder: formatFolderPath(target.folder),
    archived: 0,
    alreadyArchived: 0,
    unparseable: 0,
    failed: 0,
    failures: [],
    flagged: [],
    bytes: 0,
    seconds: 0,
  };
  const fail = (origin: string, error: unknown): void => {
    summary.failed += 1;
    if (summary.failures.length < MAX_LISTED) summary.failures.push({ origin, error: describeError(error) });
  };
  const record = (origin: string, outcome: IngestOutcome): void => {
    if (!outcome.placements.some((placement) => placement.added)) summary.alreadyArchived += 1;
    else if (outcome.problems.length) {
      summary.unparseable += 1;
      if (summary.flagged.length < MAX_LISTED) summary.flagged.push({ origin, problems: outcome.problems });
    } else summary.archived += 1;
  };

  // The archive and its folder exist after an import even when the source holds no message.
  await ingest.ensureFolder({ archive: target.archive, folder: target.rootFolder ?? target.folder });
  const bar = output.stderr.isTTY ? new SingleBar({ format: ' {bar} {percentage}% | {value}/{total} bytes | {messages} messages', stream: output.stderr }) : undefined;
  bar?.start(await source.totalBytes(), 0, { messages: 0 });
  let done = 0;
  const inFlight = new Set<Promise<void>>();
  let inFlightBytes = 0;
  for await (const item of source.items()) {
    summary.bytes += item.bytes;
    if (item.kind === 'failure') {
      fail(item.origin, item.error);
      continue;
    }
    const folder = item.folder.length ? [...target.folder, ...item.folder] : (target.rootFolder ?? target.folder);
    const request = { raw: item.raw, origin: item.origin, routing: { kind: 'explicit' as const, targets: [{ archive: target.archive, folder }] }, ...(item.receivedAt ? { receivedAt: item.receivedAt } : {}) };
    const size = item.raw.length;
    inFlightBytes += size;
    const task: Promise<void> = ingest
      .ingest(request)
      .then(
        (outcome) => record(item.origin, outcome),
        (err: unknown) => fail(item.origin, err),
      )
      .finally(() => {
        inFlight.delete(task);
        inFlightBytes -= size;
        done += 1;
        bar?.update(summary.bytes, { messages: done });
      });
    inFlight.add(task);
    while (inFlight.size >= MAX_IN_FLIGHT || (inFlightBytes >= MAX_IN_FLIGHT_BYTES && inFlight.size > 0)) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  bar?.update(summary.bytes, { messages: done });
  bar?.stop();
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

export function printImportSummary(summary: ImportSummary, output: Output, json: boolean): void {
  if (json) {
    printJson(output, summary);
    return;
  }
  const { stdout } = output;
  printLine(stdout, `Import into ${summary.archive}/${summary.folder} (${summary.seconds.toFixed(1)} s)`);
  printLine(
    stdout,
    formatTable(
      ['result', 'messages'],
      [
        ['archived', String(summary.archived)],
        ['already archived', String(summary.alreadyArchived)],
        ['archived but unparseable', String(summary.unparseable)],
        ['failed', String(summary.failed)],
      ],
    ),
  );
  for (const { origin, problems } of summary.flagged) printLine(stdout, `flagged: ${origin}: ${problems.join('; ')}`);
  for (const { origin, error } of summary.failures) printLine(output.stderr, `failed: ${origin}: ${error}`);
  const unlisted = summary.failed - summary.failures.length;
  if (unlisted > 0) printLine(output.stderr, `failed: … and ${unlisted} more`);
}
