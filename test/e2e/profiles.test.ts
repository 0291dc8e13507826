// Archiving profiles end to end with the built CLI and daemon against a real Dovecot: the scheduler
// runs a profile on its own, `coffer profile run` goes through the daemon, list/history/test/folders
// report, a password comes from a file; a run killed with -9 leaves a store that verifies and a
// re-run that archives every message exactly once; SIGTERM stops a running profile at its next batch.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startDovecot, type Dovecot } from '../integration/dovecot/harness.js';
import { message, withPorts } from '../integration/profiles/harness.js';
import { cofferJson, finished, freePort, runCoffer, sleep, spawnCoffer, startDaemon, storeBytesOnDisk, tempDir, waitForPort, waitUntil, type FoldersReport, type VerifyJson } from './helpers.js';

const ALICE = 'alice@example.com';

interface RunJson {
  status: string;
  trigger: string;
  archived: number;
  unchanged: number;
  errors: { message: string }[];
}

test('the daemon runs scheduled profiles; the CLI runs, lists, tests and shows the history of profiles', async (t) => {
  const dovecot = await startDovecot({ users: [ALICE] });
  t.teardown(() => dovecot.stop());
  for (let i = 0; i < 5; i++) await dovecot.append(ALICE, 'INBOX', message({ subject: `m${i}` }), { flags: ['\\Seen'] });
  await dovecot.append(ALICE, 'Trash', message({ subject: 'trash' }));
  const dir = await tempDir(t, 'coffer-profiles-e2e-');
  const config = join(dir, 'coffer.yaml');
  await writeFile(join(dir, 'alice.password'), 'secret\n');
  const smtpPort = await freePort();
  const server = 'host: 127.0.0.1, port: {imaps}, ignoreCertificateErrors: true, timeout: 10s';
  await writeFile(
    config,
    withPorts(
      `dataDir: ${JSON.stringify(join(dir, 'data'))}
imap: { starttls: null, tls: null }
smtp: { listen: ["127.0.0.1:${smtpPort}"] }
archives:
  - { name: alice, address: ${ALICE} }
  - { name: copy }
profiles:
  - { name: hourly, kind: mailbox, server: { ${server} }, user: ${ALICE}, password: { file: alice.password }, archive: alice, schedule: { every: 1h } }
  - { name: by-hand, kind: mailbox, server: { ${server} }, user: ${ALICE}, password: { file: alice.password }, archive: copy }
  - { name: wrong, kind: mailbox, server: { ${server} }, user: ${ALICE}, password: nope, archive: copy }
`,
      dovecot,
    ),
  );
  const daemon = startDaemon(t, config);
  await waitForPort(smtpPort, 'coffer serve', daemon.exitReason);

  // Never run before, so the scheduler runs it now.
  let history: RunJson[] = [];
  await waitUntil('the scheduled run', async () => {
    history = await cofferJson<RunJson[]>(t, ['profile', 'history', 'hourly', '--json'], { config });
    return history.length > 0;
  }, 30_000, 200);
  t.is(history[0]!.trigger, 'schedule');
  t.is(history[0]!.status, 'ok');
  t.is(history[0]!.archived, 5);

  const run = await cofferJson<RunJson>(t, ['profile', 'run', 'by-hand', '--json'], { config });
  t.is(run.trigger, 'manual');
  t.is(run.archived, 5);
  const folders = await cofferJson<FoldersReport>(t, ['folders', 'copy', '--json'], { config });
  t.deepEqual(folders.folders.map((f) => [f.path, f.messages]), [['Inbox', 5]]);

  const list = await cofferJson<{ name: string; schedule: string; lastRun: { status: string } | null }[]>(t, ['profile', 'list', '--json'], { config });
  t.deepEqual(list.map((p) => [p.name, p.schedule, p.lastRun?.status ?? null]), [['hourly', 'every 1h', 'ok'], ['by-hand', 'manual', 'ok'], ['wrong', 'manual', null]]);

  const tested = await runCoffer(['profile', 'test', 'by-hand'], { config });
  t.is(tested.code, 0, tested.stderr);
  t.regex(tested.stdout.toString(), /alice@example\.com: ok: connected \(imap 127\.0\.0\.1:\d+ TLS\), logged in, \d+ folders, \d+ to archive/);
  const shown = await runCoffer(['profile', 'folders', 'by-hand'], { config });
  t.regex(shown.stdout.toString(), /\[x\] INBOX/);
  t.regex(shown.stdout.toString(), /\[ \] Trash .*default exclusion/);
  const failing = await runCoffer(['profile', 'test', 'wrong'], { config });
  t.is(failing.code, 1);
  t.regex(failing.stdout.toString(), /FAILED: imap 127\.0\.0\.1:\d+: login failed/);
  t.false(failing.stdout.toString().includes('nope'));

  const wrongRun = await runCoffer(['profile', 'run', 'wrong'], { config });
  t.is(wrongRun.code, 1);
  t.regex(wrongRun.stdout.toString(), /profile wrong: failed .* login failed/s);
  const unknown = await runCoffer(['profile', 'run', 'nosuch'], { config });
  t.is(unknown.code, 1);
  t.regex(unknown.stderr.toString(), /no profile named "nosuch"/);

  daemon.child.kill('SIGTERM');
  t.is((await daemon.done).code, 0);
  // The daemon's log says what runs did, never a password.
  t.false(daemon.stdout().includes('secret'));
  t.regex(daemon.stdout(), /"msg":"profile run finished"/);
});

/** Messages in the bulk mailbox: enough that a run takes seconds, so it can be interrupted. */
const COUNT = 1500;

async function bulkMailbox(t: ExecutionContext): Promise<Dovecot> {
  const dovecot = await startDovecot({ users: [ALICE] });
  t.teardown(() => dovecot.stop());
  for (let i = 0; i < COUNT; i++) await dovecot.append(ALICE, 'INBOX', message({ subject: `bulk ${i}`, body: `${'lorem ipsum '.repeat(200)}${i}` }));
  return dovecot;
}

test('kill -9 in the middle of a run: the store verifies and the re-run archives every message exactly once', async (t) => {
  const dovecot = await bulkMailbox(t);
  const dir = await tempDir(t, 'coffer-profiles-kill-');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'coffer.yaml');
  await writeFile(
    config,
    withPorts(
      `dataDir: ${JSON.stringify(dataDir)}
archives: [{ name: alice, address: ${ALICE} }]
profiles:
  - { name: bulk, kind: mailbox, server: { host: 127.0.0.1, port: {imaps}, ignoreCertificateErrors: true, timeout: 30s }, user: ${ALICE}, password: secret, archive: alice }
`,
      dovecot,
    ),
  );
  const child = spawnCoffer(['profile', 'run', 'bulk'], { config });
  const done = finished(child);
  let exited = false;
  void done.then(() => (exited = true));
  // Killed once the store has grown (messages are being committed), well before the run ends.
  for (let polls = 0; polls < 600 && !exited && (await storeBytesOnDisk(dataDir)) < 300_000; polls++) await sleep(20);
  t.false(exited, 'the run finished before it could be killed: add messages');
  child.kill('SIGKILL');
  t.is((await done).signal, 'SIGKILL');

  const verified = await cofferJson<VerifyJson>(t, ['verify', '--json'], { config });
  t.deepEqual(verified.problems, []);
  const rerun = await cofferJson<RunJson>(t, ['profile', 'run', 'bulk', '--json'], { config });
  t.is(rerun.status, 'ok', JSON.stringify(rerun.errors));
  t.true(rerun.archived > 0 && rerun.archived < COUNT, `re-run archived ${rerun.archived}`);
  t.is(rerun.archived + rerun.unchanged, COUNT);
  const folders = await cofferJson<FoldersReport>(t, ['folders', 'alice', '--json'], { config });
  t.deepEqual(folders.folders.map((f) => [f.path, f.messages]), [['Inbox', COUNT]]);
  const again = await cofferJson<RunJson>(t, ['profile', 'run', 'bulk', '--json'], { config });
  t.is(again.archived, 0);
  t.is(again.unchanged, COUNT);
});

test('SIGTERM during a scheduled run: the daemon stops at the next batch, records the run as stopped, and the next run resumes', async (t) => {
  const dovecot = await bulkMailbox(t);
  const dir = await tempDir(t, 'coffer-profiles-term-');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'coffer.yaml');
  const smtpPort = await freePort();
  await writeFile(
    config,
    withPorts(
      `dataDir: ${JSON.stringify(dataDir)}
imap: { starttls: null, tls: null }
smtp: { listen: ["127.0.0.1:${smtpPort}"] }
archives: [{ name: alice, address: ${ALICE} }]
profiles:
  - { name: bulk, kind: mailbox, server: { host: 127.0.0.1, port: {imaps}, ignoreCertificateErrors: true, timeout: 30s }, user: ${ALICE}, password: secret, archive: alice, schedule: { every: 1h } }
`,
      dovecot,
    ),
  );
  const daemon = startDaemon(t, config);
  await waitForPort(smtpPort, 'coffer serve', daemon.exitReason);
  // Stopped once the scheduled run (due at once: it never ran) is committing messages.
  for (let polls = 0; polls < 600 && daemon.result() === undefined && (await storeBytesOnDisk(dataDir)) < 300_000; polls++) await sleep(20);
  daemon.child.kill('SIGTERM');
  t.is((await daemon.done).code, 0, daemon.exitReason());

  const [stopped] = await cofferJson<RunJson[]>(t, ['profile', 'history', 'bulk', '--json'], { config });
  t.truthy(stopped, 'the stopped run is in the history');
  t.not(stopped!.status, 'ok');
  t.true(stopped!.archived > 0 && stopped!.archived < COUNT, `stopped run archived ${stopped!.archived}`);
  t.regex(stopped!.errors.map((e) => e.message).join('\n'), /stopped: Coffer was shutting down/);
  const verified = await cofferJson<VerifyJson>(t, ['verify', '--json'], { config });
  t.deepEqual(verified.problems, []);

  const resumed = await cofferJson<RunJson>(t, ['profile', 'run', 'bulk', '--json'], { config });
  t.is(resumed.status, 'ok', JSON.stringify(resumed.errors));
  t.is(resumed.unchanged, stopped!.archived);
  t.is(resumed.archived + resumed.unchanged, COUNT);
});
