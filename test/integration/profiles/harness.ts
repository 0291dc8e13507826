// Harness for archiving-profile tests: a real Dovecot (test/integration/dovecot/harness.ts) as the
// source, a real store in a temp dir as the target, and the profile runner between them, with a
// clock the test can move forward (deletion rules count days). Every wait is bounded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { openCoffer, type Coffer } from '../../../src/app.js';
import { parseConfigText, type Config } from '../../../src/config/index.js';
import { ProfileRunner } from '../../../src/connectors/profiles/runner.js';
import { createSilentLogger } from '../../../src/log/logger.js';
import type { RunRecord } from '../../../src/store/profile-state.js';
import { startDovecot, type Dovecot, type DovecotOptions } from '../dovecot/harness.js';

export interface ProfileHarness {
  dovecot: Dovecot;
  dir: string;
  config: Config;
  coffer: Coffer;
  runner: ProfileRunner;
  /** The runner's clock; tests move it forward. */
  now: Date;
  run(profile: string): Promise<RunRecord>;
  /** Raw bytes of every message listed in an archive folder, in UID order. */
  archived(archive: string, folder: readonly string[]): Promise<Buffer[]>;
  /** Folder paths of an archive with their message counts. */
  folders(archive: string): Promise<Record<string, number>>;
}

export async function startDovecotOnly(t: ExecutionContext, options: DovecotOptions): Promise<Dovecot> {
  const dovecot = await startDovecot(options);
  t.teardown(() => dovecot.stop());
  return dovecot;
}

/** yaml is the config without dataDir; it may use the placeholders {imaps} {imap} {pop3s} {pop3}. */
export async function startProfiles(t: ExecutionContext, dovecot: Dovecot, yaml: string, env: NodeJS.ProcessEnv = {}): Promise<ProfileHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-profiles-'));
  const file = join(dir, 'coffer.yaml');
  const text = `dataDir: ${join(dir, 'data')}\n${withPorts(yaml, dovecot)}`;
  writeFileSync(file, text);
  const config = parseConfigText(text, { file, env: {} });
  const coffer = await openCoffer(config);
  const harness: ProfileHarness = {
    dovecot,
    dir,
    config,
    coffer,
    now: new Date(),
    runner: undefined as unknown as ProfileRunner,
    run: (profile) => harness.runner.run(profile, 'manual'),
    async archived(archive, folder) {
      const record = await coffer.store.getArchive(archive);
      const found = record && (await coffer.store.getFolder(record.id, folder));
      if (!found) return [];
      const shas: Buffer[] = [];
      for await (const { entry } of coffer.store.entries(found.id)) shas.push(entry.sha);
      return coffer.store.readRaws(shas);
    },
    async folders(archive) {
      const record = await coffer.store.getArchive(archive);
      if (!record) return {};
      const folders = await coffer.store.listFolders(record.id);
      return Object.fromEntries(folders.map((folder) => [folder.path.join('/'), folder.messages]));
    },
  };
  harness.runner = new ProfileRunner({ config: () => config, ingest: () => coffer.ingest(), store: coffer.store, env, logger: createSilentLogger(), clock: () => harness.now });
  t.teardown(async () => {
    await coffer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return harness;
}

export function withPorts(yaml: string, dovecot: Dovecot): string {
  return yaml
    .replaceAll('{imaps}', String(dovecot.ports.imaps))
    .replaceAll('{imap}', String(dovecot.ports.imap))
    .replaceAll('{pop3s}', String(dovecot.ports.pop3s))
    .replaceAll('{pop3}', String(dovecot.ports.pop3));
}

let counter = 0;

/** A small CRLF message (Dovecot hands CRLF back byte for byte). */
export function message(options: { from?: string; to?: string; subject?: string; date?: string; body?: string; extraHeaders?: string[] } = {}): string {
  counter += 1;
  const lines = [
    `From: ${options.from ?? 'Sender <sender@example.org>'}`,
    `To: ${options.to ?? 'alice@example.com'}`,
    `Subject: ${options.subject ?? `message ${counter}`}`,
    `Date: ${options.date ?? 'Mon, 02 Feb 2026 10:00:00 +0000'}`,
    `Message-ID: <m${counter}.${process.pid}.${Date.now()}@example.org>`,
    ...(options.extraHeaders ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    options.body ?? `Body of message ${counter}.`,
    '',
  ];
  return lines.join('\r\n');
}
