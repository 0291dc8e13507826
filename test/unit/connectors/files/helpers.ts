// Test helpers for the file-import readers: temporary directories and draining a source.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { FileSource, SourceFailure, SourceItem, SourceMessage } from '../../../../src/connectors/files/index.js';

export async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `coffer-${prefix}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function collect(source: FileSource): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const item of source.items()) items.push(item);
  return items;
}

export function messages(items: readonly SourceItem[]): SourceMessage[] {
  return items.filter((item): item is SourceMessage => item.kind === 'message');
}

export function failures(items: readonly SourceItem[]): SourceFailure[] {
  return items.filter((item): item is SourceFailure => item.kind === 'failure');
}
