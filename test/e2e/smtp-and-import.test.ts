// Issue 3, "A CLI import while SMTP mail flows in must work": with `coffer serve` holding the store,
// SMTP clients deliver over STARTTLS while `coffer import eml` runs through the control socket.
// Both finish, every delivery and every file is archived once, and the store verifies.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createTransport } from 'nodemailer';
import { cleanMessage, cofferJson, freePort, startDaemon, tempDir, waitForPort, writeFiles, type FoldersReport, type ImportSummary, type VerifyJson } from './helpers.js';

const FILES = 300;
const CLIENTS = 4;
const PER_CLIENT = 50;

test('an import through the daemon and SMTP deliveries run side by side', async (t) => {
  const dir = await tempDir(t, 'coffer-smtp-import-');
  const config = join(dir, 'coffer.yaml');
  const port = await freePort();
  await writeFile(
    config,
    [
      `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
      'archives:',
      '  - name: journal',
      'imap: { starttls: null, tls: null }',
      'smtp:',
      `  listen: ["127.0.0.1:${port}"]`,
      '  endpoints:',
      '    - address: journal@archive.test',
      '      archive: journal',
      '',
    ].join('\n'),
  );
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) files[`${String(i).padStart(4, '0')}.eml`] = cleanMessage(10_000 + i);
  await writeFiles(join(dir, 'mail'), files);

  const daemon = startDaemon(t, config);
  await waitForPort(port, 'coffer serve', daemon.exitReason);

  const send = async (client: number): Promise<number> => {
    const transport = createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } });
    let accepted = 0;
    try {
      for (let n = 0; n < PER_CLIENT; n++) {
        const info = await transport.sendMail({
          envelope: { from: `sender${client}@example.net`, to: ['journal@archive.test'] },
          raw: cleanMessage(client * 1000 + n),
        });
        if (info.response.startsWith('250')) accepted += 1;
      }
    } finally {
      transport.close();
    }
    return accepted;
  };
  const [summary, ...accepted] = await Promise.all([
    cofferJson<ImportSummary>(t, ['import', 'eml', join(dir, 'mail'), '--archive', 'imported', '--json'], { config }),
    ...Array.from({ length: CLIENTS }, (_, client) => send(client)),
  ]);
  t.is(summary.archived, FILES);
  t.is(summary.failed, 0);
  t.deepEqual(accepted, Array.from({ length: CLIENTS }, () => PER_CLIENT));

  const journal = await cofferJson<FoldersReport>(t, ['folders', 'journal', '--json'], { config });
  t.is(journal.folders.find((f) => f.path === 'Inbox')?.messages, CLIENTS * PER_CLIENT);
  const imported = await cofferJson<FoldersReport>(t, ['folders', 'imported', '--json'], { config });
  t.is(imported.folders.find((f) => f.path === 'Inbox')?.messages, FILES);
  const verified = await cofferJson<VerifyJson>(t, ['verify', '--json'], { config });
  t.true(verified.ok, JSON.stringify(verified.problems.slice(0, 5)));

  daemon.child.kill('SIGTERM');
  t.is((await daemon.done).code, 0);
});
