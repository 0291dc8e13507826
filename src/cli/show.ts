// `coffer show <archive> <folder> <uid>`: one archived message. --raw writes exactly the archived
// bytes; otherwise the metadata derived at ingest, where the message is listed and where it came from.
import type { Coffer } from '../app.js';
import { CofferError, ErrorCodes } from '../errors.js';
import { formatAddress, viewEnvelope } from '../mime/envelope-view.js';
import type { EntryRecord, MessageMeta } from '../store/records.js';
import { parseFolderPath } from './folder-path.js';
import { printJson, printLine, type Output } from './output.js';

export interface ShownMessage {
  entry: EntryRecord;
  meta: MessageMeta;
}

export async function findMessage(coffer: Coffer, archiveName: string, folderPath: string, uid: number): Promise<ShownMessage> {
  const archive = await coffer.store.requireArchive(archiveName);
  const folder = await coffer.store.getFolder(archive.id, parseFolderPath(folderPath));
  if (!folder) throw new CofferError(ErrorCodes.NotFound, `archive "${archiveName}" has no folder "${folderPath}"`);
  const entry = Number.isSafeInteger(uid) ? await coffer.store.getEntry(folder.id, uid) : undefined;
  if (!entry) throw new CofferError(ErrorCodes.NotFound, `no message with uid ${uid} in ${archiveName}/${folderPath}`);
  const meta = await coffer.store.getMessage(entry.sha);
  if (!meta) throw new CofferError(ErrorCodes.StoreCorrupt, `listing ${archiveName}/${folderPath} uid ${uid} points at a missing message`);
  return { entry, meta };
}

export async function writeRaw(coffer: Coffer, shown: ShownMessage, output: Output): Promise<void> {
  const raw = await coffer.store.readRaw(shown.entry.sha);
  await new Promise<void>((resolve, reject) => output.stdout.write(raw, (err) => (err ? reject(err) : resolve())));
}

export function printMessage({ entry, meta }: ShownMessage, output: Output, json: boolean): void {
  const envelope = viewEnvelope(meta.envelope);
  const details = {
    sha256: entry.sha.toString('hex'),
    size: meta.size,
    date: meta.date === undefined ? null : new Date(meta.date).toISOString(),
    receivedAt: meta.receivedAt === undefined ? null : new Date(meta.receivedAt).toISOString(),
    internalDate: new Date(entry.internalDate).toISOString(),
    archivedAt: new Date(entry.archivedAt).toISOString(),
    direction: entry.direction,
    origin: entry.origin,
    subject: envelope.subject,
    from: envelope.from.map(formatAddress),
    to: envelope.to.map(formatAddress),
    cc: envelope.cc.map(formatAddress),
    bcc: envelope.bcc.map(formatAddress),
    messageId: envelope.messageId,
    priority: meta.priority,
    attachments: meta.attachments,
    problems: meta.problems,
  };
  if (json) {
    printJson(output, details);
    return;
  }
  const line = (label: string, value: string): void => printLine(output.stdout, `${`${label}:`.padEnd(14)}${value}`);
  line('Subject', details.subject);
  line('From', details.from.join(', '));
  line('To', details.to.join(', '));
  if (details.cc.length) line('Cc', details.cc.join(', '));
  if (details.bcc.length) line('Bcc', details.bcc.join(', '));
  line('Date', details.date ?? '(none)');
  line('Received', details.receivedAt ?? '(unknown)');
  line('Message-ID', details.messageId ?? '(none)');
  line('Size', `${details.size} bytes`);
  line('Priority', String(details.priority));
  line('Direction', details.direction);
  line('Archived', details.archivedAt);
  line('Origin', details.origin);
  line('SHA-256', details.sha256);
  for (const a of details.attachments) line('Attachment', `${a.name ?? '(unnamed)'} (${a.contentType}, ${a.size} bytes)`);
  for (const p of details.problems) line('Flagged', p);
}
