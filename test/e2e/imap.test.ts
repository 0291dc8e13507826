// Read-only IMAP access through the real daemon (issue 5), with real clients over real TLS on
// loopback: mbsync syncing the whole account, Python's imaplib over STARTTLS, a raw TLS socket for
// exact replies (refused writes, access control, throttled logins, BYE on shutdown), ImapFlow in
// IDLE while mail arrives over SMTP, and the audit trail all of that leaves. One daemon serves every
// test, which run serially in this order: the throttle test locks addresses out, SIGTERM ends it.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import test from 'ava';
import { ImapFlow } from 'imapflow';
import { createTransport } from 'nodemailer';
import {
  ImapTestClient,
  REPO,
  cleanMessage,
  cofferJson,
  freePort,
  logLines,
  pseudoRandomBytes,
  runCoffer,
  runProgram,
  sha256,
  showRaw,
  sleep,
  startDaemon,
  tempDir,
  testPasswordHash,
  waitForPort,
  waitUntil,
  type FoldersReport,
  type RunningDaemon,
  type StatsReport,
  type Teardown,
  type VerifyJson,
} from './helpers.js';

// Words that occur only in message subjects and bodies: the log must never contain them.
const SUBJECT_WORD = 'Zanzibarquest';
const BODY_WORD = 'quokkasecret';
const BOB_WORD = 'bobconfidential';
const SMTP_WORD = 'idlewombat';

const PASSWORDS = { alice: 'Alice-Pw-7731', bob: 'Bob-Pw-1844', root: 'Root-Pw-5120', audrey: 'Audrey-Pw-9046' } as const;
const WAIT_MS = 15_000;

interface Setup {
  dir: string;
  config: string;
  smtpPort: number;
  starttlsPort: number;
  tlsPort: number;
  daemon: RunningDaemon;
  /** Archived bytes by "<archive>/<folder>", as written to the import sources (imports keep them exactly). */
  archived: Map<string, Buffer[]>;
  /** The configuration file's text for compliance.adminArchiveAccess. */
  yaml: (adminArchiveAccess: boolean) => string;
}

const teardowns: (() => unknown)[] = [];
const registry: Teardown = { teardown: (fn) => void teardowns.push(fn) };
let setup: Setup | undefined;

test.after.always(async () => {
  for (const fn of teardowns.reverse()) await fn();
});

function crlf(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** Real mail from the SpamAssassin corpus, without the mbox postmark line the corpus files begin with. */
async function corpusMessages(): Promise<Buffer[]> {
  const data = join(REPO, 'node_modules', '@stdlib', 'datasets-spam-assassin', 'data');
  const list = JSON.parse(await readFile(join(data, 'file_list.json'), 'utf8')) as string[];
  const picked = ['easy-ham-1', 'hard-ham-1', 'spam-2'].flatMap((dir) => list.filter((name) => name.startsWith(`${dir}/`) && name.endsWith('.txt')).slice(0, 2));
  return Promise.all(
    picked.map(async (name) => {
      const raw = await readFile(join(data, name));
      return raw.subarray(0, 5).toString('latin1') === 'From ' ? raw.subarray(raw.indexOf(0x0a) + 1) : raw;
    }),
  );
}

function multipartWithAttachment(): Buffer {
  const attachment = pseudoRandomBytes(3000, 7).toString('base64').replace(/.{76}/g, '$&\r\n');
  return crlf(
    'From: Dave <dave@example.org>',
    'To: Alice <alice@example.com>',
    'Subject: Figures attached',
    'Date: Wed, 3 Jan 2024 11:00:00 +0000',
    'Message-ID: <multipart-1@example.org>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b0undary"',
    '',
    'This is a multi-part message in MIME format.',
    '--b0undary',
    'Content-Type: text/plain; charset=utf-8',
    '',
    // The subject word in a body only: SUBJECT searches must not find this message.
    `The ${SUBJECT_WORD} figures are attached. ${BODY_WORD}`,
    '--b0undary',
    'Content-Type: application/octet-stream; name="figures.bin"',
    'Content-Disposition: attachment; filename="figures.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    attachment.trimEnd(),
    '--b0undary--',
    '',
  );
}

/** alice's Maildir: an inbox of real and hand-made mail, nested folders, a non-ASCII folder name. */
async function aliceFolders(): Promise<Record<string, Buffer[]>> {
  return {
    Inbox: [
      Buffer.from(
        ['From: Carol <carol@example.org>', 'To: Alice <alice@example.com>', `Subject: ${SUBJECT_WORD} plans, bare LF`, 'Date: Tue, 2 Jan 2024 09:00:00 +0000', 'Message-ID: <lf-1@example.org>', '', `Bare line feeds only. ${BODY_WORD}`, ''].join('\n'),
      ),
      crlf('From: Carol <carol@example.org>', 'To: Alice <alice@example.com>', `Subject: ${SUBJECT_WORD} minutes, CRLF`, 'Date: Tue, 2 Jan 2024 10:00:00 +0000', 'Message-ID: <crlf-1@example.org>', '', `CRLF line endings. ${BODY_WORD}`, ''),
      Buffer.concat([
        crlf('From: Erik <erik@example.de>', 'To: Alice <alice@example.com>', 'Subject: Eight bit body', 'Date: Tue, 2 Jan 2024 11:00:00 +0000', 'Message-ID: <8bit-1@example.de>', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: 8bit', '', ''),
        Buffer.from(`Gr\xfc\xdfe aus M\xfcnchen, 10 \xa4, ${BODY_WORD}.\r\n`, 'latin1'),
      ]),
      multipartWithAttachment(),
      ...(await corpusMessages()),
    ],
    Projects: [Buffer.from(cleanMessage(20))],
    'Projects/Q1': [Buffer.from(cleanMessage(21)), Buffer.from('Subject: Q1 note\nMessage-ID: <q1-note@example.com>\n\nNo line break at the end')],
    Réunions: [crlf('From: Fanny <fanny@example.fr>', 'Subject: =?utf-8?q?R=C3=A9union_d=27=C3=A9quipe?=', 'Date: Thu, 4 Jan 2024 08:00:00 +0000', 'Message-ID: <reunion-1@example.fr>', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'Ordre du jour : café, thé, Grüße (UTF-8, 8 bits).', '')],
    'Archive/2019': [Buffer.from(cleanMessage(22))],
  };
}

async function setUp(): Promise<Setup> {
  const dir = await tempDir(registry, 'imap');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'coffer.yaml');
  const [smtpPort, starttlsPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const hashes = {
    alice: await testPasswordHash(PASSWORDS.alice),
    bob: await testPasswordHash(PASSWORDS.bob),
    root: await testPasswordHash(PASSWORDS.root),
    audrey: await testPasswordHash(PASSWORDS.audrey),
  };
  const yaml = (adminArchiveAccess: boolean): string =>
    [
      `dataDir: ${JSON.stringify(dataDir)}`,
      'archives:',
      '  - { name: alice, address: alice@example.com }',
      '  - { name: bob, address: bob@example.com }',
      '  - { name: shared }',
      '  - { name: journal }',
      'users:',
      `  - { name: alice, passwordHash: "${hashes.alice}", archives: { alice: read, shared: read } }`,
      `  - { name: bob, passwordHash: "${hashes.bob}", archives: { bob: read } }`,
      `  - { name: root, passwordHash: "${hashes.root}", role: admin, archives: { shared: read } }`,
      `  - { name: audrey, passwordHash: "${hashes.audrey}", role: auditor }`,
      `compliance: { adminArchiveAccess: ${String(adminArchiveAccess)} }`,
      'smtp:',
      `  listen: ["127.0.0.1:${smtpPort}"]`,
      '  endpoints: [{ address: journal@archive.test, archive: journal, acceptAnyRecipient: true }]',
      'imap:',
      `  starttls: "127.0.0.1:${starttlsPort}"`,
      `  tls: "127.0.0.1:${tlsPort}"`,
      '  auditRetrievals: true',
      '  idleTimeout: 30m',
      '',
    ].join('\n');
  await writeFile(config, yaml(false));

  const archived = new Map<string, Buffer[]>();
  const alice = await aliceFolders();
  for (const [folder, messages] of Object.entries(alice)) {
    archived.set(`alice/${folder}`, messages);
    // Filesystem-layout Maildir: the root's cur/ is the inbox, subdirectories are folders.
    const cur = join(dir, 'alice-maildir', ...(folder === 'Inbox' ? [] : folder.split('/')), 'cur');
    await mkdir(cur, { recursive: true });
    for (const [i, raw] of messages.entries()) await writeFile(join(cur, `${String(i + 1).padStart(3, '0')}.eml`), raw);
  }
  archived.set('alice/Archive', []);
  archived.set('shared/Inbox', [Buffer.from(cleanMessage(30)), Buffer.from(cleanMessage(31))]);
  archived.set('bob/Inbox', [Buffer.from(cleanMessage(40, { subject: `Bob ${BOB_WORD}`, body: `Only for bob: ${BOB_WORD}` }))]);
  for (const archive of ['shared', 'bob']) {
    const source = join(dir, `${archive}-eml`);
    await mkdir(source);
    for (const [i, raw] of archived.get(`${archive}/Inbox`)!.entries()) await writeFile(join(source, `${i + 1}.eml`), raw);
  }
  for (const [kind, source, archive] of [['maildir', 'alice-maildir', 'alice'], ['eml', 'shared-eml', 'shared'], ['eml', 'bob-eml', 'bob']] as const) {
    const imported = await runCoffer(['import', kind, join(dir, source), '--archive', archive, '--json'], { config });
    if (imported.code !== 0) throw new Error(`import ${kind} ${archive} exited ${String(imported.code)}: ${imported.stderr}`);
    const summary = JSON.parse(imported.stdout.toString('utf8')) as { archived: number; unparseable: number };
    const expected = [...archived].filter(([key]) => key.startsWith(`${archive}/`)).reduce((sum, [, messages]) => sum + messages.length, 0);
    if (summary.archived + summary.unparseable !== expected) throw new Error(`import ${archive}: ${imported.stdout.toString('utf8')}`);
  }

  const daemon = startDaemon(registry, config);
  for (const [port, what] of [[smtpPort, 'smtp'], [starttlsPort, 'imap starttls'], [tlsPort, 'imap tls']] as const) await waitForPort(port, `coffer serve (${what})`, daemon.exitReason);
  return { dir, config, smtpPort, starttlsPort, tlsPort, daemon, archived, yaml };
}

test.before(async () => {
  setup = await setUp();
});

function ready(): Setup {
  if (!setup) throw new Error('set-up failed');
  return setup;
}

/** A raw client over implicit TLS, closed after the test. */
async function tlsClient(t: Teardown, options: { localAddress?: string; servername?: string } = {}): Promise<ImapTestClient> {
  const client = await ImapTestClient.connect(ready().tlsPort, { tls: true, ...options });
  t.teardown(() => client.close());
  return client;
}

async function loggedIn(t: Teardown, user: keyof typeof PASSWORDS): Promise<ImapTestClient> {
  const client = await tlsClient(t);
  const reply = await client.login(user, PASSWORDS[user]);
  if (reply.status !== 'OK') throw new Error(`login ${user}: ${reply.line}`);
  return client;
}

// --- 1. mbsync ------------------------------------------------------------------------------------

/**
 * mbsync (isync 1.4) does not store a downloaded message as it received it: CRLF becomes LF (the
 * Maildir's native line end) and an `X-TUID: <12 characters>` line is added at the end of the
 * header. Both are mbsync's doing; Coffer's bytes over IMAP are checked exactly in the imaplib test.
 */
function asStoredByMbsync(archived: Buffer): Buffer {
  return Buffer.from(archived.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

function withoutTuid(local: Buffer): Buffer {
  return Buffer.from(local.toString('latin1').replace(/^X-TUID: [A-Za-z0-9+/]{12}\n/m, ''), 'latin1');
}

/** Message files (cur/ and new/) under a Maildir tree, by folder path relative to the root. */
async function maildirMessages(root: string): Promise<Map<string, { name: string; raw: Buffer }[]>> {
  const folders = new Map<string, { name: string; raw: Buffer }[]>();
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (entry.name === 'cur' || entry.name === 'new') {
        const folder = relative(root, dir);
        const list = folders.get(folder) ?? [];
        for (const name of await readdir(path)) list.push({ name: `${entry.name}/${name}`, raw: await readFile(join(path, name)) });
        folders.set(folder, list);
      } else if (entry.name !== 'tmp') await walk(path);
    }
  };
  await walk(root);
  return folders;
}

test.serial('mbsync pulls every folder over implicit TLS, each message once and byte for byte; a second run changes nothing', async (t) => {
  const { dir, tlsPort, archived } = ready();
  const version = await runProgram('mbsync', ['--version'], { timeoutMs: 5000 });
  t.is(version.code, 0, `mbsync (Debian isync) must be installed: ${version.stderr}`);
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(version.stdout.toString()) ?? []).slice(1).map(Number);
  const home = join(dir, 'mbsync-home');
  const local = join(home, 'Mail');
  await mkdir(local, { recursive: true });
  const rc = join(home, 'mbsyncrc');
  await writeFile(
    rc,
    [
      'IMAPAccount coffer',
      'Host 127.0.0.1',
      `Port ${tlsPort}`,
      'User alice',
      `Pass ${PASSWORDS.alice}`,
      // isync 1.5 renamed SSLType to TLSType.
      `${major > 1 || (major === 1 && minor >= 5) ? 'TLSType' : 'SSLType'} IMAPS`,
      // The daemon's self-signed certificate: a certificate listed here is trusted as it is.
      `CertificateFile ${join(dir, 'data', 'tls', 'cert.pem')}`,
      '',
      'IMAPStore coffer-far',
      'Account coffer',
      '',
      'MaildirStore coffer-near',
      `Path ${local}/`,
      `Inbox ${local}/INBOX`,
      'SubFolders Verbatim',
      '',
      'Channel coffer',
      'Far :coffer-far:',
      'Near :coffer-near:',
      'Patterns *',
      // A read-only server: never propagate flags or deletions to it.
      'Sync Pull',
      'Create Near',
      'SyncState *',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, HOME: home };
  const first = await runProgram('mbsync', ['-c', rc, '-a', '-V'], { timeoutMs: 30_000, env });
  const output = (run: typeof first): string => `exit ${String(run.code)}${run.timedOut ? ' (timed out)' : ''}\nstdout: ${run.stdout.toString().slice(-3000)}\nstderr: ${run.stderr.slice(-3000)}`;
  t.is(first.code, 0, output(first));

  // Folder names on disk: isync before 1.5 keeps IMAP's modified UTF-7 ("Réunions" is R&AOk-unions).
  const synced = await maildirMessages(local);
  const reunions = synced.has('Réunions') ? 'Réunions' : 'R&AOk-unions';
  const localName = (key: string): string => {
    const [archive, ...folder] = key.split('/');
    const path = folder.join('/');
    if (archive !== 'alice') return `Other Archives/${archive}/${path}`;
    return path === 'Inbox' ? 'INBOX' : path === 'Réunions' ? reunions : path;
  };
  const expected = new Map([...archived].filter(([key]) => !key.startsWith('bob/')).map(([key, messages]) => [localName(key), messages]));
  for (const [folder, messages] of expected) {
    const got = (synced.get(folder) ?? []).map((file) => sha256(withoutTuid(file.raw))).sort();
    t.deepEqual(got, messages.map((raw) => sha256(asStoredByMbsync(raw))).sort(), `${folder}: every archived message once, bytes as archived`);
  }
  t.deepEqual(
    [...synced].filter(([, files]) => files.length > 0).map(([folder]) => folder).sort(),
    [...expected].filter(([, messages]) => messages.length > 0).map(([folder]) => folder).sort(),
    'no other folder received mail (bob\'s archive is not alice\'s)',
  );
  // Every message file is a \Seen message: mbsync names it with the S flag.
  t.true([...synced.values()].flat().every((file) => /,S$|:2,[A-Z]*S/.test(file.name)), 'archived messages arrive \\Seen');

  const second = await runProgram('mbsync', ['-c', rc, '-a', '-V'], { timeoutMs: 30_000, env });
  t.is(second.code, 0, output(second));
  const again = await maildirMessages(local);
  const snapshot = (folders: Map<string, { name: string; raw: Buffer }[]>) =>
    [...folders].map(([folder, files]) => [folder, files.map((file) => `${file.name} ${sha256(file.raw)}`).sort()] as const).sort(([a], [b]) => a.localeCompare(b));
  t.deepEqual(snapshot(again), snapshot(synced), 'the second run is a no-op');
  // That it downloaded nothing either is checked in the audit test (the log is written in 4 KB chunks).
  t.notRegex(`${first.stderr}${second.stderr}`, /STORE|read-only|NO \[CANNOT\]/i, 'mbsync never tried to write');
});

test.serial('implicit TLS serves clients that send SNI (every client that connects by host name)', async (t) => {
  const client = await tlsClient(t, { servername: 'archive.example.test' });
  t.regex(client.greeting, /^\* OK/);
  t.is((await client.login('alice', PASSWORDS.alice)).status, 'OK');
});

// --- 2. Python imaplib over STARTTLS ---------------------------------------------------------------

interface PythonReport {
  capabilitiesBeforeTls: string[];
  loginBeforeTls: string;
  starttls: string;
  capabilitiesAfterTls: string[];
  login: string;
  list: { status: string; lines: string[] };
  select: string;
  examine: { status: string; exists: number | null };
  fetch: { status: string; messages: { uid: number | null; size: number | null; body: string }[] };
  search: { status: string; uids: number[]; text: string };
  logout: string;
}

test.serial('Python imaplib: LOGINDISABLED until STARTTLS, then LOGIN, LIST, read-only SELECT, UID FETCH of the archived bytes, UID SEARCH', async (t) => {
  const { starttlsPort, archived, config } = ready();
  const script = join(REPO, 'test', 'e2e', 'fixtures', 'imaplib-client.py');
  const run = await runProgram('python3', [script, String(starttlsPort), 'alice', PASSWORDS.alice, SUBJECT_WORD], { timeoutMs: 30_000 });
  t.is(run.code, 0, `python3: ${run.stderr}`);
  const report = JSON.parse(run.stdout.toString('utf8')) as PythonReport;

  t.true(report.capabilitiesBeforeTls.includes('STARTTLS'));
  t.true(report.capabilitiesBeforeTls.includes('LOGINDISABLED'));
  t.regex(report.loginBeforeTls, /STARTTLS/, 'LOGIN before TLS is refused');
  t.is(report.starttls, 'OK');
  t.false(report.capabilitiesAfterTls.includes('LOGINDISABLED'));
  t.false(report.capabilitiesAfterTls.includes('STARTTLS'));
  t.true(report.capabilitiesAfterTls.includes('AUTH=PLAIN'));
  t.is(report.login, 'OK');
  t.is(report.list.status, 'OK');
  t.true(report.list.lines.some((line) => line.endsWith('"INBOX"')));
  t.true(report.list.lines.some((line) => line.endsWith('"Other Archives/shared/Inbox"')));
  t.is(report.select, 'READ-ONLY', 'SELECT answers [READ-ONLY]');

  const inbox = archived.get('alice/Inbox')!;
  t.deepEqual(report.examine, { status: 'OK', exists: inbox.length });
  t.is(report.fetch.status, 'OK');
  const fetched = report.fetch.messages.map((message) => ({ uid: message.uid ?? 0, size: message.size, body: Buffer.from(message.body, 'base64') }));
  t.deepEqual(fetched.map((message) => message.uid), inbox.map((_, i) => i + 1), 'UIDs 1..n');
  for (const message of fetched) t.is(message.size, message.body.length, `uid ${message.uid}: RFC822.SIZE is the literal's length`);
  t.deepEqual(fetched.map((message) => sha256(message.body)).sort(), inbox.map((raw) => sha256(raw)).sort(), 'BODY[] is the archived bytes, nothing converted');
  for (const uid of [1, inbox.length]) {
    t.deepEqual(fetched.find((message) => message.uid === uid)?.body, await showRaw(t, 'alice', 'Inbox', uid, { config }), `uid ${uid} is what coffer show --raw prints`);
  }

  // The oracle: the fetched messages whose Subject header holds the word (the multipart has it in its body only).
  const subjectOf = (raw: Buffer): string => {
    const text = raw.toString('latin1');
    const header = text.slice(0, text.search(/\r?\n\r?\n/));
    return /^Subject:(.*(?:\r?\n[ \t].*)*)/im.exec(header)?.[1] ?? '';
  };
  const expectedUids = fetched.filter((message) => subjectOf(message.body).includes(SUBJECT_WORD)).map((message) => message.uid);
  t.is(expectedUids.length, 2);
  t.is(report.search.status, 'OK', report.search.text);
  t.deepEqual(report.search.uids, expectedUids, `UID SEARCH SUBJECT ${SUBJECT_WORD}: ${report.search.text}`);
  t.is(report.logout, 'BYE');
});

// --- 3. refused writes ----------------------------------------------------------------------------

test.serial('every write command is refused with NO [CANNOT] and changes nothing; CLOSE and UNSELECT answer OK', async (t) => {
  const { config } = ready();
  const storeState = async () => ({
    stats: await cofferJson<StatsReport>(t, ['stats'], { config }),
    folders: await cofferJson<FoldersReport>(t, ['folders', 'alice'], { config }),
  });
  const before = await storeState();
  const alice = await loggedIn(t, 'alice');
  const selected = await alice.command('SELECT INBOX');
  t.is(selected.status, 'OK');
  t.is(selected.code, 'READ-ONLY', selected.line);
  const exists = Number(/^\* (\d+) EXISTS$/m.exec(selected.untagged.join('\n'))?.[1]);
  // RFC 3501 6.3.2 and 7.1: in a read-only mailbox no flag can be changed permanently.
  t.true(selected.untagged.includes('* OK [PERMANENTFLAGS ()] No permanent flags permitted') || selected.untagged.some((line) => /^\* OK \[PERMANENTFLAGS \(\)\]/.test(line)), `PERMANENTFLAGS of a read-only mailbox must be (): ${selected.untagged.join(' | ')}`);
  const status = async () => (await alice.command('STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY)')).untagged.join('\n');
  const statusBefore = await status();

  const appended = Buffer.from(cleanMessage(99, { subject: 'Appended', body: 'must not be archived' }));
  const writes: [string, Buffer?][] = [
    ['STORE 1 +FLAGS (\\Deleted)'],
    ['STORE 1:* FLAGS.SILENT (\\Flagged)'],
    ['UID STORE 1 -FLAGS (\\Seen)'],
    [`APPEND INBOX (\\Seen) {${appended.length}}`, appended],
    ['COPY 1 Projects'],
    ['UID COPY 1:* Projects'],
    ['MOVE 1 Projects'],
    ['UID MOVE 1 Projects'],
    ['EXPUNGE'],
    ['UID EXPUNGE 1'],
    ['CREATE Scratch'],
    ['CREATE Projects/Scratch'],
    ['DELETE Projects/Q1'],
    ['RENAME Projects Renamed'],
  ];
  for (const [command, literal] of writes) {
    const reply = await alice.command(command, literal ? { literal } : {});
    t.is(reply.status, 'NO', `${command}: ${reply.line}`);
    t.is(reply.code, 'CANNOT', `${command}: ${reply.line}`);
    t.regex(reply.line, /This archive is read-only/, command);
    t.false(reply.untagged.some((line) => /^\* \d+ (EXPUNGE|FETCH)/.test(line)), `${command}: no message changed or went away`);
  }

  const flags = await alice.command('FETCH 1:* (FLAGS)');
  t.is(flags.status, 'OK');
  t.is(flags.untagged.length, exists);
  t.true(flags.untagged.every((line) => /^\* \d+ FETCH \(FLAGS \(\\Seen\)\)$/.test(line)), flags.untagged.join(' | '));
  t.is(await status(), statusBefore);
  const names = (await alice.list()).mailboxes.map((mailbox) => mailbox.name);
  t.false(names.some((name) => /Scratch|Renamed/.test(name)));
  t.true(names.includes('Projects/Q1'));

  t.is((await alice.command('CLOSE')).status, 'OK', 'CLOSE');
  t.is((await alice.command('FETCH 1 (FLAGS)')).status, 'BAD', 'nothing selected after CLOSE');
  t.is((await alice.command('EXAMINE INBOX')).code, 'READ-ONLY');
  t.is((await alice.command('UNSELECT')).status, 'OK', 'UNSELECT');

  t.deepEqual(await storeState(), before, 'stats and folders unchanged');
  const verified = await cofferJson<VerifyJson>(t, ['verify'], { config });
  t.true(verified.ok, JSON.stringify(verified.problems.slice(0, 5)));
});

// --- 4. access control ----------------------------------------------------------------------------

test.serial('users see their own and granted archives only, auditors all, admins per compliance.adminArchiveAccess (applied on SIGHUP)', async (t) => {
  const { starttlsPort, archived, config, yaml, daemon } = ready();
  const names = async (client: ImapTestClient) => (await client.list()).mailboxes.map((mailbox) => mailbox.name).sort();

  // alice: her archive at the top (Inbox as INBOX, non-ASCII names in modified UTF-7), "shared" granted.
  const alice = await loggedIn(t, 'alice');
  const aliceList = await alice.list();
  t.deepEqual(aliceList.mailboxes.map((mailbox) => mailbox.name).sort(), ['Archive', 'Archive/2019', 'INBOX', 'Other Archives', 'Other Archives/shared', 'Other Archives/shared/Inbox', 'Projects', 'Projects/Q1', 'R&AOk-unions']);
  t.true(aliceList.mailboxes.find((mailbox) => mailbox.name === 'Other Archives')?.flags.includes('\\Noselect'));
  for (const command of ['SELECT "Other Archives/bob/Inbox"', 'EXAMINE "Other Archives/bob/Inbox"', 'STATUS "Other Archives/bob/Inbox" (MESSAGES)', 'SELECT "Other Archives/journal/Inbox"']) {
    const reply = await alice.command(command);
    t.is(reply.status, 'NO', `alice: ${command}: ${reply.line}`);
    t.notRegex(reply.line, new RegExp(BOB_WORD));
  }
  const shared = await alice.command('SELECT "Other Archives/shared/Inbox"');
  t.is(shared.code, 'READ-ONLY', shared.line);
  t.true(shared.untagged.includes(`* ${archived.get('shared/Inbox')!.length} EXISTS`));
  const reunions = await alice.command('EXAMINE "R&AOk-unions"');
  t.is(reunions.status, 'OK', reunions.line);

  // Login by the primary address of the user's own archive.
  const byAddress = await tlsClient(t);
  t.is((await byAddress.login('alice@example.com', PASSWORDS.alice)).status, 'OK');
  t.deepEqual(await names(byAddress), await names(alice));

  // bob over STARTTLS: nothing before TLS, AUTHENTICATE PLAIN after it; his own archive only.
  const bob = await ImapTestClient.connect(starttlsPort, { tls: false });
  t.teardown(() => bob.close());
  const capability = await bob.command('CAPABILITY');
  t.regex(capability.untagged.join(' '), /STARTTLS/);
  t.regex(capability.untagged.join(' '), /LOGINDISABLED/);
  const plain = Buffer.from(`\0bob\0${PASSWORDS.bob}`).toString('base64');
  t.not((await bob.command(`AUTHENTICATE PLAIN ${plain}`)).status, 'OK', 'AUTHENTICATE before TLS is refused');
  t.not((await bob.login('bob', PASSWORDS.bob)).status, 'OK', 'LOGIN before TLS is refused');
  t.is((await bob.starttls()).status, 'OK');
  t.is((await bob.command(`AUTHENTICATE PLAIN ${plain}`)).status, 'OK');
  t.deepEqual(await names(bob), ['INBOX']);
  t.is((await bob.command('SELECT "Other Archives/alice/Inbox"')).status, 'NO');
  const bobInbox = await bob.command('SELECT INBOX');
  t.is(bobInbox.code, 'READ-ONLY');
  t.true(bobInbox.untagged.includes('* 1 EXISTS'));

  // audrey (auditor): every archive, read-only.
  const audrey = await loggedIn(t, 'audrey');
  const audreyNames = await names(audrey);
  for (const name of ['Other Archives/alice/Inbox', 'Other Archives/alice/Projects/Q1', 'Other Archives/alice/R&AOk-unions', 'Other Archives/bob/Inbox', 'Other Archives/shared/Inbox']) {
    t.true(audreyNames.includes(name), `auditor sees ${name}: ${audreyNames.join(', ')}`);
  }
  const bobsBox = await audrey.command('SELECT "Other Archives/bob/Inbox"');
  t.is(bobsBox.code, 'READ-ONLY', bobsBox.line);
  const bobsMessage = await audrey.command('FETCH 1 (BODY.PEEK[])');
  t.is(bobsMessage.status, 'OK');
  t.true(bobsMessage.raw[0]!.includes(archived.get('bob/Inbox')![0]!), 'the auditor reads the archived bytes');
  t.is((await audrey.command('STORE 1 +FLAGS (\\Deleted)')).code, 'CANNOT');

  // root (admin) without adminArchiveAccess: an empty INBOX and what is granted to it.
  const root = await loggedIn(t, 'root');
  t.deepEqual(await names(root), ['INBOX', 'Other Archives', 'Other Archives/shared', 'Other Archives/shared/Inbox']);
  t.is((await root.command('SELECT "Other Archives/bob/Inbox"')).status, 'NO');

  // adminArchiveAccess: true, reloaded with SIGHUP: the same session sees every archive at its next command.
  await writeFile(config, yaml(true));
  daemon.child.kill('SIGHUP');
  await waitUntil('the admin sees every archive after SIGHUP', async () => (await names(root)).includes('Other Archives/bob/Inbox'), WAIT_MS, 200);
  t.true((await names(root)).includes('Other Archives/alice/Inbox'));
  t.is((await root.command('EXAMINE "Other Archives/bob/Inbox"')).code, 'READ-ONLY');
  // Users are not admins: alice still cannot open bob's archive.
  t.is((await alice.command('SELECT "Other Archives/bob/Inbox"')).status, 'NO');
  t.false((await names(alice)).some((name) => name.includes('bob')));
});

// --- 5. IDLE ----------------------------------------------------------------------------------------

test.serial('IDLE (ImapFlow) reports a message journaled over SMTP, which then fetches byte for byte', async (t) => {
  const { tlsPort, smtpPort } = ready();
  const client = new ImapFlow({ host: '127.0.0.1', port: tlsPort, secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice', pass: PASSWORDS.alice }, logger: false });
  t.teardown(() => client.logout().catch(() => client.close()));
  await client.connect();
  const mailbox = await client.mailboxOpen('INBOX');
  t.true(mailbox.readOnly);
  const before = mailbox.exists;
  const exists = new Promise<{ count: number; prevCount: number }>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no EXISTS within ${WAIT_MS} ms`)), WAIT_MS);
    client.once('exists', (data: { count: number; prevCount: number }) => {
      clearTimeout(timer);
      resolvePromise(data);
    });
  });
  const idling = client.idle();

  const raw = cleanMessage(50, { subject: `Arrived while idling ${SMTP_WORD}`, body: `Journaled during IDLE. ${SMTP_WORD}` });
  const transport = createTransport({ host: '127.0.0.1', port: smtpPort, tls: { rejectUnauthorized: false } });
  try {
    const info = await transport.sendMail({ envelope: { from: 'sender50@example.com', to: ['journal@archive.test', 'alice@example.com'] }, raw });
    t.regex(info.response, /^250/);
  } finally {
    transport.close();
  }
  const event = await exists;
  t.deepEqual({ count: event.count, prevCount: event.prevCount }, { count: before + 1, prevCount: before });
  const fetched = await client.fetchOne(String(event.count), { source: true, uid: true, flags: true });
  t.truthy(fetched);
  if (fetched) {
    t.deepEqual(fetched.source, Buffer.from(raw));
    t.deepEqual([...(fetched.flags ?? [])], ['\\Seen']);
  }
  await idling.catch(() => undefined);
});

// --- failed logins and throttling -------------------------------------------------------------------

test.serial('a wrong password is NO [AUTHENTICATIONFAILED]; success after two failures; five failures lock out the user and the address', async (t) => {
  // Distinct loopback source addresses: the throttle counts per address and per user name.
  const attempt = async (client: ImapTestClient, user: string, password: string) => client.login(user, password);

  const second = await tlsClient(t, { localAddress: '127.0.0.2' });
  for (let i = 0; i < 2; i++) {
    const wrong = await attempt(second, 'alice', 'wrong password');
    t.is(wrong.status, 'NO');
    t.is(wrong.code, 'AUTHENTICATIONFAILED', wrong.line);
  }
  t.is((await attempt(second, 'alice', PASSWORDS.alice)).status, 'OK', 'a correct password after two failures');

  const third = await tlsClient(t, { localAddress: '127.0.0.3' });
  for (let i = 0; i < 5; i++) t.is((await attempt(third, 'bob', `guess ${i}`)).code, 'AUTHENTICATIONFAILED');
  const locked = await attempt(third, 'bob', PASSWORDS.bob);
  t.is(locked.status, 'NO', 'bob is locked out even with the right password');
  t.is(locked.code, 'AUTHENTICATIONFAILED');
  const fourth = await tlsClient(t, { localAddress: '127.0.0.4' });
  t.is((await attempt(fourth, 'bob', PASSWORDS.bob)).status, 'NO', 'the user is locked out from another address too');
  const otherUser = await tlsClient(t, { localAddress: '127.0.0.3' });
  t.is((await attempt(otherUser, 'audrey', PASSWORDS.audrey)).status, 'NO', 'the address is locked out for every user');
  t.is((await attempt(fourth, 'audrey', PASSWORDS.audrey)).status, 'OK', 'another user from another address is not');

});

// --- 6. shutdown ------------------------------------------------------------------------------------

test.serial('SIGTERM says BYE to connected clients and the daemon exits 0', async (t) => {
  const { starttlsPort, daemon } = ready();
  const selected = await loggedIn(t, 'alice');
  t.is((await selected.command('SELECT INBOX')).status, 'OK');
  const idle = await ImapTestClient.connect(starttlsPort, { tls: false });
  t.teardown(() => idle.close());
  daemon.child.kill('SIGTERM');
  for (const [client, what] of [[selected, 'TLS, selected'], [idle, 'STARTTLS, not logged in']] as const) {
    t.regex(await client.waitFor(/^\* BYE/, WAIT_MS), /^\* BYE/, what);
    await Promise.race([client.closed(), sleep(WAIT_MS).then(() => t.fail(`${what}: not disconnected after BYE`))]);
  }
  const result = await Promise.race([daemon.done, sleep(WAIT_MS).then(() => undefined)]);
  t.truthy(result, 'the daemon exits');
  t.is(result?.code, 0, result?.stderr);
});

// --- 7. audit ---------------------------------------------------------------------------------------

// The daemon writes its log in 4 KB chunks (src/log/logger.ts), so it is read once the daemon has
// exited and flushed it.
test.serial('the audit log names logins, failures, opened folders and retrievals, and no content', (t) => {
  const { daemon, archived } = ready();
  const result = daemon.result();
  if (!result) return t.fail('the daemon is still running (the shutdown test failed)');
  const log = result.stdout.toString('utf8');
  const audit = logLines(log).filter((line) => line.component === 'audit');
  for (const line of audit) {
    t.true(['login', 'login-failed', 'folder-opened', 'message-retrieved'].includes(String(line.event)), JSON.stringify(line));
    t.true(typeof line.cid === 'string' && typeof line.ip === 'string' && typeof line.user === 'string', JSON.stringify(line));
  }
  const of = (event: string) => audit.filter((line) => line.event === event);
  const logins = of('login');
  t.deepEqual([...new Set(logins.map((line) => line.user))].sort(), ['alice', 'audrey', 'bob', 'root']);
  t.true(logins.every((line) => /^127\.0\.0\.[1-4]$/.test(String(line.ip))));

  // Failed logins (the throttle test): the reason, the address, never the password tried.
  const failed = of('login-failed');
  t.is(failed.filter((line) => line.user === 'alice' && line.ip === '127.0.0.2' && line.reason === 'credentials').length, 2);
  t.is(failed.filter((line) => line.user === 'bob' && line.ip === '127.0.0.3' && line.reason === 'credentials').length, 5);
  const throttled = failed.filter((line) => line.reason === 'throttled');
  t.deepEqual(throttled.map((line) => `${String(line.user)}@${String(line.ip)}`).sort(), ['audrey@127.0.0.3', 'bob@127.0.0.3', 'bob@127.0.0.4']);
  t.true(throttled.every((line) => typeof line.retryAfter === 'number' && line.retryAfter > 0 && line.retryAfter <= 300), JSON.stringify(throttled));
  t.false(/guess \d|wrong password/.test(log), 'no password tried is logged');

  const opened = of('folder-opened').map((line) => `${String(line.user)}:${String(line.archive)}/${String(line.folder)}`);
  for (const expected of ['alice:alice/Inbox', 'alice:alice/Projects/Q1', 'alice:alice/Réunions', 'alice:shared/Inbox', 'bob:bob/Inbox', 'audrey:bob/Inbox', 'root:bob/Inbox']) {
    t.true(opened.includes(expected), `folder-opened ${expected}`);
  }
  // mbsync's first run downloaded every message of alice's folders: a line per message, with its UID.
  const retrieved = of('message-retrieved');
  const [firstSync, secondSync] = logins.filter((line) => line.user === 'alice').map((line) => line.cid);
  for (const [key, messages] of archived) {
    const [archive, ...folder] = key.split('/');
    if (archive === 'bob') continue;
    const uids = retrieved.filter((line) => line.cid === firstSync && line.archive === archive && line.folder === folder.join('/')).map((line) => Number(line.uid));
    t.deepEqual(uids.sort((a, b) => a - b), messages.map((_, i) => i + 1), `retrievals of ${key} by mbsync`);
  }
  t.deepEqual(retrieved.filter((line) => line.cid === secondSync), [], "mbsync's second run downloaded nothing");
  t.true(retrieved.some((line) => line.user === 'audrey' && line.archive === 'bob' && line.folder === 'Inbox' && line.uid === 1));

  for (const word of [SUBJECT_WORD, BODY_WORD, BOB_WORD, SMTP_WORD, 'Eight bit body', 'Figures attached', ...Object.values(PASSWORDS)]) {
    t.false(log.includes(word), `the log never contains "${word}"`);
  }
  return undefined;
});
