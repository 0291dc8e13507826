// `coffer folders <archive>`: the folder tree of an archive with counts, UIDVALIDITY and UIDNEXT.
import type { Coffer } from '../app.js';
import { formatBytes, formatTable, printJson, printLine, type Output } from './output.js';

export interface FolderInfo {
  path: string;
  messages: number;
  bytes: number;
  uidValidity: number;
  uidNext: number;
}

export async function listFolders(coffer: Coffer, archiveName: string): Promise<FolderInfo[]> {
  const archive = await coffer.store.requireArchive(archiveName);
  return (await coffer.store.listFolders(archive.id)).map((f) => ({
    path: f.path.join('/'),
    messages: f.messages,
    bytes: f.bytes,
    uidValidity: f.uidValidity,
    uidNext: f.uidNext,
  }));
}

export function printFolders(archive: string, folders: FolderInfo[], output: Output, json: boolean): void {
  if (json) {
    printJson(output, { archive, folders });
    return;
  }
  const rows = folders.map((f) => {
    const segments = f.path.split('/');
    const name = `${'  '.repeat(segments.length - 1)}${segments[segments.length - 1] ?? ''}`;
    return [name, String(f.messages), formatBytes(f.bytes), String(f.uidValidity), String(f.uidNext)];
  });
  printLine(output.stdout, formatTable(['folder', 'messages', 'size', 'uidvalidity', 'uidnext'], rows));
}
