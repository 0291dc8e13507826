// `coffer serve` as a real process: while it runs it holds the store, and every CLI command goes
// through its control socket and prints what it prints without the daemon. SIGHUP with a broken
// file keeps the old configuration; SIGTERM stops cleanly with exit 0 and a store that verifies.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { cleanMessage, finished, freePort, runCoffer, sha256, spawnCoffer, tempDir, writeFiles, type ImportSummary, type StatsReport } from './helpers.js';

async function waitForSocket(path: string, intervalMs = 50): Promise<void> {
  for (let i = 0; i < 10_000 / intervalMs; i++) {
    if (await stat(path).then((s) => s.isSocket(), () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`no control socket at ${path}`);
}

test('CLI commands run through the daemon; reload refuses a broken file; SIGTERM stops cleanly', async (t) => {
  const dir = await tempDir(t, 'coffer-daemon-');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'coffer.yaml');
  // A free port, not the default 2525, so that nothing else on the machine can be in the way.
  const port = await freePort();
  const goodConfig = `dataDir: ${JSON.stringify(dataDir)}\narchives:\n  - name: alice\n    address: alice@example.com\nimap: { starttls: null, tls: null }\nsmtp:\n  listen: ["127.0.0.1:${port}"]\n`;
  await writeFile(config, goodConfig);
  await writeFiles(join(dir, 'mail'), { 'a.eml': cleanMessage(1), 'b.eml': cleanMessage(2), 'c.eml': cleanMessage(3) });

  const daemon = spawnCoffer(['serve'], { config });
  const exited = finished(daemon);
  const socket = join(dataDir, 'control.sock');
  await waitForSocket(socket);
  t.is((await stat(socket)).mode & 0o777, 0o600);

  const imported = await runCoffer(['import', 'eml', join(dir, 'mail'), '--archive', 'alice', '--json'], { config });
  t.is(imported.code, 0, imported.stderr);
  const summary = JSON.parse(imported.stdout.toString()) as ImportSummary;
  t.is(summary.archived, 3);

  const stats = await runCoffer(['stats', '--json'], { config });
  t.is(stats.code, 0);
  t.is((JSON.parse(stats.stdout.toString()) as StatsReport).messages, 3);

  const raw = await runCoffer(['show', 'alice', 'Inbox', '2', '--raw'], { config });
  t.is(raw.code, 0);
  t.is(sha256(raw.stdout), sha256(await readFile(join(dir, 'mail', 'b.eml'))));

  const missing = await runCoffer(['show', 'alice', 'Inbox', '99'], { config });
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no message with uid 99/);

  // A broken file on SIGHUP is refused; the daemon keeps serving with the old configuration.
  await writeFile(config, `${goodConfig}unknownKey: true\n`);
  daemon.kill('SIGHUP');
  await writeFile(join(dir, 'good.yaml'), goodConfig);
  const afterReload = await runCoffer(['verify', '--json'], { config: join(dir, 'good.yaml') });
  t.is(afterReload.code, 0, afterReload.stderr);
  t.true((JSON.parse(afterReload.stdout.toString()) as { ok: boolean }).ok);

  daemon.kill('SIGTERM');
  const result = await exited;
  t.is(result.code, 0, result.stderr);
  const logs = result.stdout.toString();
  t.regex(logs, /configuration reload refused/);
  t.regex(logs, /"msg":"stopped"/);
  t.notRegex(logs, /Subject|Hello/);
  await t.throwsAsync(stat(socket));

  // Stopped: the CLI opens the store itself and sees the same archive.
  const offline = await runCoffer(['stats', '--json'], { config: join(dir, 'good.yaml') });
  t.is(offline.code, 0);
  t.is((JSON.parse(offline.stdout.toString()) as StatsReport).messages, 3);
});

test('SIGTERM while the daemon is still starting its components stops it cleanly once started', async (t) => {
  const dir = await tempDir(t, 'coffer-daemon-early-');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'coffer.yaml');
  const port = await freePort();
  // The control socket comes first; SMTP and IMAP (with its certificate) start after it.
  await writeFile(config, `dataDir: ${JSON.stringify(dataDir)}\narchives:\n  - name: alice\n    address: alice@example.com\nimap: { starttls: "127.0.0.1:${await freePort()}", tls: "127.0.0.1:${await freePort()}" }\nsmtp:\n  listen: ["127.0.0.1:${port}"]\n`);
  const daemon = spawnCoffer(['serve'], { config });
  const exited = finished(daemon);
  await waitForSocket(join(dataDir, 'control.sock'), 2);
  daemon.kill('SIGTERM');
  const result = await exited;
  t.is(result.code, 0, `signal ${String(result.signal)}: ${result.stderr}`);
  const logs = result.stdout.toString();
  t.regex(logs, /"msg":"stopping"/);
  t.regex(logs, /"msg":"stopped"/);
});

test('a bad configuration at start exits with code 2', async (t) => {
  const dir = await tempDir(t, 'coffer-daemon-bad-');
  const config = join(dir, 'coffer.yaml');
  await writeFile(config, `dataDir: ${JSON.stringify(join(dir, 'data'))}\nsmtpp: {}\n`);
  const result = await finished(spawnCoffer(['serve'], { config }));
  t.is(result.code, 2);
  t.regex(result.stderr, /coffer\.yaml:2:1 smtpp/);
});
