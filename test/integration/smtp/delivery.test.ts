// Journal intake end to end: nodemailer over STARTTLS to the real SMTP component, a real
// pipeline and a real LevelDB store. 250 means archived byte for byte, routed by envelope and
// headers (Bcc credit via RCPT, Sent for the sender), journal reports unwrapped.
import test from 'ava';
import { hashPassword } from '../../../src/auth/password.js';
import { captureLogger, message, send, sha256, startHarness } from './helpers.js';

const ENDPOINT = `
smtp:
  endpoints:
    - address: journal@archive.test
      archive: journal
`;

test('a delivery gets 250 only once archived, byte-identical, in the endpoint archive', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  // Dot-stuffing, a long line and 8-bit bytes: what comes out must be exactly what went in.
  const raw = Buffer.concat([message({ body: '.leading dot\r\n..two dots\r\nx'.concat('y'.repeat(2000)) }), Buffer.from([0xe4, 0xf6, 0x0d, 0x0a])]);
  const info = await send(h.port, { from: 'carol@elsewhere.org', to: ['journal@archive.test'], raw });
  t.regex(info.response, /^250 /);
  const sha = await sha256(raw);
  t.deepEqual(await h.store.readRaw(sha), raw);
  t.deepEqual(await h.placesOf(sha), ['alice/Inbox', 'journal/Inbox']);
});

test('Bcc credit: a RCPT other than the journal address files the message for that archive', async (t) => {
  // An MTA that relays the original envelope (RCPT per recipient plus the journal address) needs
  // an endpoint that accepts any recipient; the non-journal RCPTs become envelope recipients.
  const h = await startHarness(t, ENDPOINT.replace('archive: journal', 'archive: journal\n      acceptAnyRecipient: true'));
  // bob appears nowhere in the headers: only the envelope says he received it.
  const raw = message({ to: 'alice@example.com' });
  const info = await send(h.port, { from: 'carol@elsewhere.org', to: ['journal@archive.test', 'bob@example.com'], raw });
  t.deepEqual(info.rejected, []);
  t.deepEqual(await h.placesOf(await sha256(raw)), ['alice/Inbox', 'bob/Inbox', 'journal/Inbox']);
});

test('without acceptAnyRecipient a non-journal RCPT is refused (550) and the rest is delivered', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  const raw = message({ to: 'alice@example.com' });
  const info = await send(h.port, { from: 'carol@elsewhere.org', to: ['journal@archive.test', 'bob@example.com'], raw });
  t.deepEqual(info.rejected, ['bob@example.com']);
  t.deepEqual(await h.placesOf(await sha256(raw)), ['alice/Inbox', 'journal/Inbox']);
});

test('the sender archive gets the message in Sent (MAIL FROM counts as sender too)', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  const raw = message({ from: 'Alice <alice@example.com>', to: 'dave@elsewhere.org' });
  await send(h.port, { from: 'alice@example.com', to: ['journal@archive.test'], raw });
  t.deepEqual(await h.placesOf(await sha256(raw)), ['alice/Sent', 'journal/Inbox']);
  // MAIL FROM an alias, headers naming a stranger: the envelope sender still files it as sent.
  const viaEnvelope = message({ from: 'noreply@elsewhere.org', to: 'dave@elsewhere.org' });
  await send(h.port, { from: 'Robert@Example.com', to: ['JOURNAL@archive.test'], raw: viaEnvelope });
  t.deepEqual(await h.placesOf(await sha256(viaEnvelope)), ['bob/Sent', 'journal/Inbox']);
});

test('an unknown recipient gets 550 5.1.1 and nothing is stored', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  const error = await t.throwsAsync(send(h.port, { from: 'carol@elsewhere.org', to: ['someone@archive.test'], raw: message() }));
  t.is((error as Error & { responseCode?: number }).responseCode, 550);
  t.regex(error?.message ?? '', /5\.1\.1/);
  t.is(await h.messageCount(), 0);
});

test('one message for two endpoints is stored once and listed in both endpoint archives', async (t) => {
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - { address: journal@archive.test, archive: journal }
    - { address: journal2@archive.test, archive: journal2 }
`,
  );
  const raw = message({ to: 'bob@example.com' });
  await send(h.port, { from: 'carol@elsewhere.org', to: ['journal@archive.test', 'journal2@archive.test'], raw });
  t.is(await h.messageCount(), 1);
  t.deepEqual(await h.placesOf(await sha256(raw)), ['bob/Inbox', 'journal/Inbox', 'journal2/Inbox']);
});

test('acceptAnyRecipient: any RCPT is accepted for that endpoint and credited as a recipient', async (t) => {
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - { address: journal@archive.test, archive: journal, acceptAnyRecipient: true }
`,
  );
  const raw = message({ to: 'undisclosed-recipients:;' });
  await send(h.port, { from: 'carol@elsewhere.org', to: ['robert@example.com', 'nobody@nowhere.test'], raw });
  t.deepEqual(await h.placesOf(await sha256(raw)), ['bob/Inbox', 'journal/Inbox']);
});

test('an Exchange journal report: the attached original is archived, routed by the report envelope', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  const original = message({ from: 'Carol <carol@elsewhere.org>', to: 'Alice <alice@example.com>', subject: 'Quarterly numbers' });
  const boundary = 'journal-boundary-1';
  const report = Buffer.concat([
    Buffer.from(
      [
        'From: Microsoft Exchange <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com>',
        'To: journal@archive.test',
        'Subject: Quarterly numbers',
        'Date: Mon, 01 Jan 2024 10:00:05 +0000',
        'Message-ID: <report-1@example.com>',
        'X-MS-Journal-Report:',
        'MIME-Version: 1.0',
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'Sender: carol@elsewhere.org',
        'Subject: Quarterly numbers',
        'Message-Id: <q@elsewhere.org>',
        'To: alice@example.com',
        'Bcc: bob@example.com',
        '',
        `--${boundary}`,
        'Content-Type: message/rfc822',
        '',
        '',
      ].join('\r\n'),
    ),
    original,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  await send(h.port, { from: 'MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com', to: ['journal@archive.test'], raw: report });
  const stored = await h.placesOf(await sha256(original));
  if (stored.length === 0) {
    t.fail(`the report was archived instead of its original: ${JSON.stringify(await h.placesOf(await sha256(report)))}`);
    return;
  }
  t.deepEqual(stored, ['alice/Inbox', 'bob/Inbox', 'journal/Inbox']);
  t.deepEqual(await h.store.readRaw(await sha256(original)), original);
  t.is(await h.messageCount(), 1);
});

test('one info line per transaction with cid, ip, envelope summary, sha and result; no body, no password', async (t) => {
  const { logger, lines, text } = captureLogger();
  const hash = await hashPassword('very secret words', { N: 1024, r: 8, p: 1 });
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - address: journal@archive.test
      archive: journal
      auth: { users: [{ name: exchange, passwordHash: "${hash}" }] }
`,
    { logger },
  );
  const raw = message({ subject: 'Confidential subject', body: 'the body must never be logged' });
  await send(h.port, { from: 'carol@elsewhere.org', to: ['journal@archive.test'], raw, auth: { user: 'exchange', pass: 'very secret words' } });
  const transactions = lines().filter((line) => line.msg === 'smtp transaction');
  t.is(transactions.length, 1);
  const line = transactions[0]!;
  t.is(line.level, 30);
  t.is(typeof line.cid, 'string');
  t.is(line.ip, '127.0.0.1');
  t.is(line.mailFrom, 'carol@elsewhere.org');
  t.is(line.recipients, 1);
  t.is(line.size, raw.length);
  t.is(line.sha, (await sha256(raw)).toString('hex'));
  t.deepEqual(line.archives, ['alice', 'journal']);
  t.is(line.code, 250);
  t.is(typeof line.ms, 'number');
  const all = text();
  t.false(all.includes('very secret words'));
  t.false(all.includes(Buffer.from('\0exchange\0very secret words').toString('base64')));
  t.false(all.includes('the body must never be logged'));
  t.false(all.includes('Confidential subject'));
});
