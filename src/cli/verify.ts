// `coffer verify`: re-hashes every stored message and checks every reference; prints a report and
// names each damaged message with the archives, folders and UIDs that list it.
import { SingleBar } from 'cli-progress';
import type { Coffer } from '../app.js';
import { verifyStore, type VerifyReport } from '../store/verify.js';
import { printJson, printLine, type Output } from './output.js';

export async function runVerify(coffer: Coffer, output: Output): Promise<VerifyReport> {
  const bar = output.stderr.isTTY ? new SingleBar({ format: ' verifying {bar} {value}/{total} messages', stream: output.stderr }) : undefined;
  bar?.start((await coffer.store.counters()).messages, 0);
  const report = await verifyStore(coffer.store, { onProgress: (checked) => bar?.update(checked) });
  bar?.stop();
  // Name where each damaged message is listed, so an administrator can find it.
  for (const problem of report.problems) {
    if (!problem.sha || problem.folder) continue;
    const listings = await coffer.store.listingsOf(Buffer.from(problem.sha, 'hex'));
    if (listings.length) problem.detail += ` (listed in ${await describeListings(coffer, listings)})`;
  }
  return report;
}

async function describeListings(coffer: Coffer, listings: { folderId: number; uid: number }[]): Promise<string> {
  const names = await Promise.all(
    listings.slice(0, 5).map(async ({ folderId, uid }) => {
      const folder = await coffer.store.getFolderById(folderId);
      const archive = folder && (await coffer.store.listArchives()).find((a) => a.id === folder.archiveId);
      return `${archive?.name ?? '?'}/${folder?.path.join('/') ?? `#${folderId}`} uid ${uid}`;
    }),
  );
  return names.join(', ') + (listings.length > 5 ? `, … ${listings.length - 5} more` : '');
}

export function printVerifyReport(report: VerifyReport, output: Output, json: boolean): void {
  if (json) {
    printJson(output, { ok: report.problems.length === 0, ...report });
    return;
  }
  printLine(output.stdout, `checked ${report.messages} messages, ${report.listings} listings, ${report.folders} folders, ${report.archives} archives`);
  if (report.problems.length === 0) {
    printLine(output.stdout, 'store OK: every message matches its hash and every reference resolves');
    return;
  }
  printLine(output.stdout, `DAMAGED: ${report.problems.length} problem(s)`);
  for (const problem of report.problems) {
    const where = [problem.archive, problem.folder].filter(Boolean).join('/');
    const parts = [problem.sha ? `message ${problem.sha}` : '', where ? `in ${where}` : '', problem.uid !== undefined ? `uid ${problem.uid}` : ''].filter(Boolean);
    printLine(output.stdout, `  ${parts.length ? `${parts.join(' ')}: ` : ''}${problem.detail}`);
  }
}
