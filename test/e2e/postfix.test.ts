// A real Postfix (Debian `postfix`, installed by .ci/run) journals to a real `coffer serve`: a
// private instance with its own config, queue and log in a temp dir (`postfix -c`), smtpd on a free
// loopback port, `always_bcc` to Coffer's journal address. Mail submitted to Postfix with nodemailer
// must land, via Postfix's SMTP client over STARTTLS, in the journal archive and in the archives of
// its sender (Sent) and recipients (Inbox), Bcc recipients included. Every wait is a bounded poll.
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createTransport } from 'nodemailer';
import { cofferJson, finished, freePort, runCoffer, sleep, spawnCoffer, tempDir, waitForPort, type FoldersReport, type RunResult, type ShowJson } from './helpers.js';

const POSTFIX = '/usr/sbin/postfix';
const JOURNAL = 'journal@archive.test';
function postfix(configDir: string, command: string): { status: number | null; output: string } {
  const result = spawnSync(POSTFIX, ['-c', configDir, command], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}${result.error ? String(result.error) : ''}` };
}

/**
 * Topology (documented here because it decides what Coffer can credit):
 * - relayhost = Coffer. Postfix has no local domains (mydestination empty), so every recipient
 *   except example.net goes to Coffer, in ONE transaction carrying RCPT TO for each real recipient
 *   plus the always_bcc journal address. The endpoint therefore sets acceptAnyRecipient: those
 *   extra RCPTs are how Coffer credits envelope-only (Bcc) recipients, whose header Postfix never sees.
 * - example.net goes to `discard:` (standing in for "the Internet"): there Coffer receives only the
 *   always_bcc copy, RCPT TO journal@ alone, and routes by the headers.
 * smtp_tls_security_level = may: Postfix uses STARTTLS with Coffer's self-signed certificate
 * (opportunistic TLS does not verify); smtp_tls_loglevel = 1 puts the handshake in the maillog.
 */
function mainCf(dir: string, cofferPort: number): string {
  return [
    'compatibility_level = 3.6',
    `queue_directory = ${join(dir, 'queue')}`,
    `data_directory = ${join(dir, 'pfdata')}`,
    `maillog_file = ${join(dir, 'maillog')}`,
    `maillog_file_prefixes = ${dir}`,
    'myhostname = mta.postfix.test',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'mydestination =',
    'alias_maps =',
    'alias_database =',
    'smtputf8_enable = no',
    `relayhost = [127.0.0.1]:${cofferPort}`,
    'transport_maps = inline:{ example.net=discard:not-archived }',
    `always_bcc = ${JOURNAL}`,
    'smtp_tls_security_level = may',
    'smtp_tls_loglevel = 1',
    // Deliver at once and never retry for long: a failing run should show up in the maillog, not hang.
    'maximal_backoff_time = 10s',
    'minimal_backoff_time = 5s',
    'queue_run_delay = 5s',
    '',
  ].join('\n');
}

/** Only the services this test needs; chroot off (the queue lives in a temp dir). */
function masterCf(smtpdPort: number): string {
  return [
    `127.0.0.1:${smtpdPort} inet n - n - - smtpd`,
    'pickup    unix  n - n 60    1 pickup',
    'cleanup   unix  n - n -     0 cleanup',
    'qmgr      unix  n - n 300   1 qmgr',
    'tlsmgr    unix  - - n 1000? 1 tlsmgr',
    'rewrite   unix  - - n -     - trivial-rewrite',
    'bounce    unix  - - n -     0 bounce',
    'defer     unix  - - n -     0 bounce',
    'trace     unix  - - n -     0 bounce',
    'verify    unix  - - n -     1 verify',
    'flush     unix  n - n 1000? 0 flush',
    'proxymap  unix  - - n -     - proxymap',
    'smtp      unix  - - n -     - smtp',
    'relay     unix  - - n -     - smtp',
    'error     unix  - - n -     - error',
    'retry     unix  - - n -     - error',
    'discard   unix  - - n -     - discard',
    'anvil     unix  - - n -     1 anvil',
    'scache    unix  - - n -     1 scache',
    'postlog   unix-dgram n - n - 1 postlogd',
    '',
  ].join('\n');
}

test('a real Postfix with always_bcc delivers journal copies that land in the right archives', async (t) => {
  const check = spawnSync(POSTFIX, ['-c', '/nonexistent', 'status'], { encoding: 'utf8' });
  if (check.error !== undefined) {
    t.fail(`Postfix is not installed (${POSTFIX}: ${check.error.message}); install it with: DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix (see .ci/run)`);
    return;
  }
  if (process.getuid?.() !== 0) {
    t.fail('this test starts a private Postfix instance, which needs root (as under .ci/run)');
    return;
  }

  const dir = await tempDir(t, 'postfix');
  // Postfix's daemons run as the `postfix` user and must reach the queue inside this directory.
  await chmod(dir, 0o755);
  const pfConfig = join(dir, 'postfix');
  const dataDir = join(dir, 'coffer');
  const config = join(dir, 'coffer.yaml');
  const maillog = join(dir, 'maillog');
  const cofferPort = await freePort();
  const smtpdPort = await freePort();

  await writeFile(
    config,
    [
      `dataDir: ${JSON.stringify(dataDir)}`,
      'archives:',
      '  - name: journal',
      '  - name: alice',
      '    address: alice@example.com',
      '  - name: bob',
      '    address: bob@example.org',
      '  - name: carol',
      '    address: carol@example.org',
      '  - name: dave',
      '    address: dave@example.org',
      'imap: { starttls: null, tls: null }',
      'smtp:',
      `  listen: ["127.0.0.1:${cofferPort}"]`,
      '  endpoints:',
      `    - address: ${JOURNAL}`,
      '      archive: journal',
      '      acceptAnyRecipient: true',
      '',
    ].join('\n'),
  );
  const daemon = spawnCoffer(['serve'], { config });
  let daemonResult: RunResult | undefined;
  const daemonDone = finished(daemon).then((r) => (daemonResult = r));
  t.teardown(() => {
    if (daemonResult === undefined) daemon.kill('SIGKILL');
  });
  await waitForPort(cofferPort, 'coffer serve', () => (daemonResult ? `code ${String(daemonResult.code)}: ${daemonResult.stderr}` : undefined));

  await mkdir(pfConfig);
  // The queue directory itself is root's; `postfix check` creates its subdirectories.
  await mkdir(join(dir, 'queue'), { mode: 0o755 });
  await writeFile(join(pfConfig, 'main.cf'), mainCf(dir, cofferPort));
  await writeFile(join(pfConfig, 'master.cf'), masterCf(smtpdPort));
  // `check` creates the queue and data directories with Postfix's owners and modes.
  const maillogText = (): Promise<string> => readFile(maillog, 'utf8').catch(() => '(no maillog)');
  const checked = postfix(pfConfig, 'check');
  if (checked.status !== 0) {
    t.fail(`postfix check exited ${String(checked.status)}: ${checked.output}\n${await maillogText()}`);
    return;
  }
  t.teardown(() => {
    postfix(pfConfig, 'stop');
  });
  const started = postfix(pfConfig, 'start');
  if (started.status !== 0) {
    t.fail(`postfix start: ${started.output}\n${await maillogText()}`);
    return;
  }
  await waitForPort(smtpdPort, 'postfix smtpd');

  // Submit two messages to Postfix, as a mail client would.
  const transport = createTransport({ host: '127.0.0.1', port: smtpdPort, secure: false, ignoreTLS: true, connectionTimeout: 10_000, socketTimeout: 10_000 });
  try {
    const first = await transport.sendMail({
      from: 'Alice <alice@example.com>',
      to: 'Bob <bob@example.org>',
      cc: 'carol@example.org',
      bcc: 'dave@example.org',
      subject: 'Quarterly figures',
      text: 'Journaled through Postfix.',
      messageId: '<postfix-1@example.com>',
    });
    t.regex(first.response, /^250 /);
    const second = await transport.sendMail({
      from: 'Bob <bob@example.org>',
      to: 'Erin <erin@example.net>',
      subject: 'Outside',
      text: 'Only the journal copy reaches Coffer.',
      messageId: '<postfix-2@example.org>',
    });
    t.regex(second.response, /^250 /);
  } finally {
    transport.close();
  }

  // Wait (bounded) until Postfix has handed both to Coffer: the journal archive lists two messages.
  const count = async (archive: string, folder: string): Promise<number> => {
    const result = await runCoffer(['folders', archive, '--json'], { config });
    if (result.code !== 0) return 0; // the archive is created with its first message
    const report = JSON.parse(result.stdout.toString('utf8')) as FoldersReport;
    return report.folders.find((f) => f.path === folder)?.messages ?? 0;
  };
  let journaled = 0;
  for (let i = 0; i < 60 && journaled < 2; i++) {
    journaled = await count('journal', 'Inbox');
    if (journaled < 2) await sleep(1000);
  }
  const log = await maillogText();
  t.is(journaled, 2, `journal/Inbox after 60 s; Postfix maillog:\n${log}`);

  // Postfix delivered to Coffer over STARTTLS, and every recipient it relayed was accepted.
  t.regex(log, new RegExp(`TLS connection established to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${cofferPort}`), log);
  t.regex(log, new RegExp(`to=<${JOURNAL}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${cofferPort}.*status=sent \\(250 `), log);
  t.regex(log, /to=<dave@example\.org>, relay=127\.0\.0\.1.*status=sent/);
  t.regex(log, /to=<erin@example\.net>, relay=none, .*status=sent \(not-archived\)/);
  t.notRegex(log, /status=(deferred|bounced)/);

  const places: Record<string, number> = {};
  for (const [archive, folder] of [
    ['journal', 'Inbox'],
    ['alice', 'Sent'],
    ['alice', 'Inbox'],
    ['bob', 'Inbox'],
    ['bob', 'Sent'],
    ['carol', 'Inbox'],
    ['dave', 'Inbox'],
  ] as const) {
    places[`${archive}/${folder}`] = await count(archive, folder);
  }
  t.deepEqual(places, {
    'journal/Inbox': 2,
    'alice/Sent': 1, // sender of the first
    'alice/Inbox': 0,
    'bob/Inbox': 1, // To of the first
    'bob/Sent': 1, // sender of the second (routed by headers: RCPT TO was the journal alone)
    'carol/Inbox': 1, // Cc of the first
    'dave/Inbox': 1, // Bcc of the first: only in Postfix's envelope, credited from RCPT TO
  });

  // The right messages, as Postfix relayed them (its Received header on top, no Bcc header).
  const show = async (archive: string, folder: string, uid: number): Promise<ShowJson> => cofferJson<ShowJson>(t, ['show', archive, folder, String(uid)], { config });
  const journalIds = [(await show('journal', 'Inbox', 1)).messageId, (await show('journal', 'Inbox', 2)).messageId].sort();
  t.deepEqual(journalIds, ['<postfix-1@example.com>', '<postfix-2@example.org>']);
  const alice = await show('alice', 'Sent', 1);
  t.is(alice.messageId, '<postfix-1@example.com>');
  t.is((await show('dave', 'Inbox', 1)).sha256, alice.sha256, 'the Bcc recipient has the same stored message');
  t.is((await show('bob', 'Sent', 1)).messageId, '<postfix-2@example.org>');
  const raw = await runCoffer(['show', 'dave', 'Inbox', '1', '--raw'], { config });
  t.is(raw.code, 0, raw.stderr);
  const headers = raw.stdout.toString('utf8').split(/\r?\n\r?\n/)[0] ?? '';
  t.regex(headers, /^Received: from .*\r?\n\s+by mta\.postfix\.test \(Postfix\)/);
  t.notRegex(headers, /^Bcc:/im);

  daemon.kill('SIGTERM');
  const stopped = await daemonDone;
  t.is(stopped.code, 0, stopped.stderr);
  // One SMTP transaction per message reached Coffer: 4 RCPTs for the first, the journal alone for the second.
  const transactions = stopped.stdout
    .toString('utf8')
    .split('\n')
    .filter((line) => line.includes('"msg":"smtp transaction"'))
    .map((line) => JSON.parse(line) as { recipients: number; code: number });
  t.deepEqual(transactions.map((tx) => [tx.recipients, tx.code]).sort(), [
    [1, 250],
    [4, 250],
  ]);
});
