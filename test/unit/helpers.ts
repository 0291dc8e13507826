// Shared helpers for unit tests: temporary data directories that are removed after the test,
// and small hand-written messages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

export function tempDir(t: ExecutionContext, prefix = 'coffer-unit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function message(fields: { from?: string; to?: string; subject?: string; date?: string; messageId?: string; body?: string; extra?: string } = {}): Buffer {
  const lines = [
    `From: ${fields.from ?? 'Alice <alice@example.com>'}`,
    `To: ${fields.to ?? 'Bob <bob@example.org>'}`,
    `Subject: ${fields.subject ?? 'Hello'}`,
    `Date: ${fields.date ?? 'Mon, 01 Jan 2024 10:00:00 +0000'}`,
    `Message-ID: <${fields.messageId ?? `${Math.random().toString(36).slice(2)}@example.com`}>`,
    ...(fields.extra ? [fields.extra] : []),
    '',
    fields.body ?? 'Hello there.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}
