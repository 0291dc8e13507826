// Browsing an archive with ImapFlow over real TLS: the mailbox tree, SELECT/EXAMINE read-only,
// STATUS, and FETCH of every data item, with bytes compared to what was archived.
import test, { type ExecutionContext } from 'ava';
import { message } from '../../unit/helpers.js';
import { ImapTestClient, type ImapReply } from '../../e2e/helpers.js';
import { PASSWORD, startImap, type ImapHarness } from './harness.js';

/** A raw client over implicit TLS, logged in as bob, with INBOX examined. */
async function examineAsBob(t: ExecutionContext, h: ImapHarness, timeoutMs?: number): Promise<ImapTestClient> {
  const client = await ImapTestClient.connect(h.tlsPort, { tls: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  t.teardown(() => client.close());
  t.is((await client.login('bob', PASSWORD)).status, 'OK');
  t.is((await client.command('EXAMINE INBOX')).status, 'OK');
  return client;
}

/** The FETCH response holds BODY[] as one literal of exactly `raw`; what follows the literal. */
function checkWholeMessage(t: ExecutionContext, reply: ImapReply, sequence: number, raw: Buffer): Buffer {
  const response = Buffer.concat(reply.raw.slice(0, -1));
  const head = Buffer.from(`* ${sequence} FETCH (BODY[] {${raw.length}}\r\n`);
  t.is(response.subarray(0, head.length).toString('latin1'), head.toString('latin1'));
  t.true(response.subarray(head.length, head.length + raw.length).equals(raw));
  return response.subarray(head.length + raw.length);
}

test('the own archive is at the top with INBOX, other readable archives under Other Archives', async (t) => {
  const h = await startImap(t);
  await h.put('bob', ['Inbox'], message({ subject: 'bob in' }));
  await h.put('bob', ['Sent'], message({ subject: 'bob out' }));
  await h.put('bob', ['Projects', 'Zürich'], message({ subject: 'project' }));
  await h.put('carol', ['Inbox'], message({ subject: 'carol in' }));
  await h.put('alice', ['Inbox'], message({ subject: 'alice in' }));

  const bob = await h.client('bob');
  // NAMESPACE: one personal namespace, no prefix, "/" as the hierarchy delimiter.
  t.deepEqual({ prefix: bob.namespace?.prefix, delimiter: bob.namespace?.delimiter }, { prefix: '', delimiter: '/' });
  const list = await bob.list();
  const paths = list.map((mailbox) => mailbox.path).sort();
  t.deepEqual(paths, ['INBOX', 'Other Archives', 'Other Archives/carol', 'Other Archives/carol/Inbox', 'Projects', 'Projects/Zürich', 'Sent']);
  t.is(list.find((mailbox) => mailbox.path === 'Sent')?.specialUse, '\\Sent');
  t.true(list.find((mailbox) => mailbox.path === 'Other Archives')?.flags.has('\\Noselect'));
  // LSUB: everything is subscribed.
  const subscribed = (await bob.list({ statusQuery: { messages: true } })).filter((mailbox) => mailbox.subscribed).map((mailbox) => mailbox.path).sort();
  t.deepEqual(subscribed, list.filter((mailbox) => !mailbox.flags.has('\\Noselect')).map((mailbox) => mailbox.path).sort());
  t.is(subscribed.length, 5);

  const status = await bob.status('Projects/Zürich', { messages: true, uidNext: true, uidValidity: true, unseen: true });
  if (!status) return t.fail('no STATUS answer');
  t.is(status.messages, 1);
  t.is(status.uidNext, 2);
  t.is(status.unseen, 0);
  t.true(Number(status.uidValidity) > 0);

  // alice sees only her own archive.
  const alice = await h.client('alice@example.com');
  t.deepEqual((await alice.list()).map((mailbox) => mailbox.path), ['INBOX']);
});

test('SELECT and EXAMINE are read-only; FETCH serves metadata and the archived bytes exactly', async (t) => {
  const h = await startImap(t);
  const raws = [
    message({ subject: 'first', body: 'plain body\r\n' }),
    Buffer.from('From: a@example.com\nTo: bob@example.com\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nDate: Tue, 3 Mar 2020 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nbare LF lines\n--b\nContent-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n'),
  ];
  for (const raw of raws) await h.put('bob', ['Inbox'], raw);
  const bob = await h.client('bob');
  const mailbox = await bob.mailboxOpen('INBOX');
  t.true(mailbox.readOnly);
  t.is(mailbox.exists, 2);

  const fetched = [];
  for await (const item of bob.fetch('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, size: true, internalDate: true, source: true })) fetched.push(item);
  t.is(fetched.length, 2);
  for (const [i, item] of fetched.entries()) {
    t.deepEqual(item.source, raws[i]);
    t.is(item.size, raws[i]!.length);
    t.deepEqual([...(item.flags ?? [])], ['\\Seen']);
  }
  t.is(fetched[0]!.envelope?.subject, 'first');
  t.is(fetched[1]!.envelope?.subject, 'Grüße');
  t.is(new Date(fetched[1]!.internalDate ?? 0).toISOString(), '2020-03-03T10:00:00.000Z');
  t.is(fetched[1]!.bodyStructure?.childNodes?.[1]?.type, 'application/pdf');

  // A part, a header subset and a partial of the whole message.
  const part = await bob.fetchOne('2', { bodyParts: ['2'], headers: ['subject'] });
  if (!part) return t.fail('no FETCH answer');
  t.is(part.bodyParts?.get('2')?.toString(), 'JVBERi0xLjQK');
  t.regex(part.headers?.toString() ?? '', /^Subject: =\?utf-8\?q\?Gr=C3=BC=C3=9Fe\?=/);
  const { content } = await bob.download('2', undefined, { uid: false });
  const chunks: Buffer[] = [];
  for await (const chunk of content ?? []) chunks.push(chunk as Buffer);
  t.deepEqual(Buffer.concat(chunks), raws[1]);

  const examined = await bob.mailboxOpen('INBOX', { readOnly: true });
  t.true(examined.readOnly);
});

test('body sections, RFC822.* and partial fetches are the exact slices of the archived message', async (t) => {
  const h = await startImap(t);
  const header = 'From: a@example.com\r\nTo: bob@example.com\r\nSubject: sections\r\nX-Extra: yes\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=zz\r\n';
  const partHeader = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n';
  const body = `--zz\r\n${partHeader}\r\nGrüße, part one\r\n--zz\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--zz--\r\n`;
  const raw = Buffer.from(`${header}\r\n${body}`);
  await h.put('bob', ['Inbox'], raw);
  const bob = await h.client('bob');
  await bob.mailboxOpen('INBOX');
  const message = await bob.fetchOne('1', {
    bodyParts: ['TEXT', '1', '1.MIME', '2'],
    headers: ['subject', 'x-extra'],
  });
  if (!message) return t.fail('no FETCH answer');
  const parts = message.bodyParts!;
  t.is(parts.get('text')?.toString(), body);
  t.is(parts.get('1')?.toString(), 'Grüße, part one');
  t.is(parts.get('1.mime')?.toString(), `${partHeader}\r\n`);
  t.is(parts.get('2')?.toString(), '<p>two</p>');
  t.is(message.headers?.toString(), 'Subject: sections\r\nX-Extra: yes\r\n\r\n');

  // What ImapFlow cannot ask for, asked on a raw connection; each literal must be exactly its slice.
  const client = await examineAsBob(t, h);
  const expectLiteral = async (item: string, answer: string, expected: Buffer): Promise<void> => {
    const reply = await client.command(`FETCH 1 (${item})`);
    const response = Buffer.concat(reply.raw.slice(0, -1));
    const head = Buffer.from(`* 1 FETCH (${answer} {${expected.length}}\r\n`);
    t.deepEqual(response.subarray(0, head.length).toString('latin1'), head.toString('latin1'), item);
    t.true(response.subarray(head.length, head.length + expected.length).equals(expected), item);
  };
  const headerEnd = raw.indexOf('\r\n\r\n') + 4;
  await expectLiteral('BODY.PEEK[HEADER.FIELDS.NOT (X-Extra Subject)]', 'BODY[HEADER.FIELDS.NOT (X-Extra Subject)]', Buffer.from('From: a@example.com\r\nTo: bob@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=zz\r\n\r\n'));
  await expectLiteral('BODY.PEEK[HEADER]', 'BODY[HEADER]', raw.subarray(0, headerEnd));
  await expectLiteral('RFC822.HEADER', 'RFC822.HEADER', raw.subarray(0, headerEnd));
  await expectLiteral('RFC822.TEXT', 'RFC822.TEXT', raw.subarray(headerEnd));
  await expectLiteral('RFC822', 'RFC822', raw);
  // A partial names only its origin in the answer (RFC 3501 7.4.2) and carries exactly those bytes.
  await expectLiteral('BODY.PEEK[]<10.25>', 'BODY[]<10>', raw.subarray(10, 35));
});

test('a large message is served whole, byte for byte', async (t) => {
  const h = await startImap(t);
  // 4.7 MB of base64 lines: larger than any socket buffer, so it goes out in many writes.
  const line = Buffer.alloc(57, 7).toString('base64');
  const lines = Array.from({ length: 60_000 }, (_, i) => `${line.slice(0, 60)}${String(i % 10)}${line.slice(61)}`);
  const raw = Buffer.from(`From: a@example.com\r\nTo: bob@example.com\r\nSubject: big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines.join('\r\n')}\r\n`);
  await h.put('bob', ['Inbox'], raw);
  // A raw client: ImapFlow takes tens of seconds to assemble a literal this large.
  const client = await examineAsBob(t, h, 60_000);
  const reply = await client.command('UID FETCH 1 (BODY.PEEK[])');
  t.is(reply.status, 'OK');
  t.is(checkWholeMessage(t, reply, 1, raw).toString('latin1'), ' UID 1)\r\n');
});

test('messages too costly or too deep to take apart on the server: their sections are refused with NO [LIMIT], their bytes still served, SEARCH keeps them', async (t) => {
  const h = await startImap(t);
  await h.put('bob', ['Inbox'], message({ messageId: 'small@x', body: 'an ordinary message' }));
  // 2 million empty lines (4 MB): imap-core's parser would hold ~280 MB of line strings for it,
  // and a few such messages could exhaust the daemon's heap (mime/parse-limits.ts).
  const raw = Buffer.from(`From: a@example.com\r\nTo: bob@example.com\r\nSubject: lines\r\n\r\n${'\r\n'.repeat(2_000_000)}`);
  await h.put('bob', ['Inbox'], raw);
  // 2,000 levels of nested parts: past the depth limit (100, as Dovecot), and deep enough to
  // overrun the stack in imap-core's recursive code.
  const levels = Array.from({ length: 2000 }, (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`).join('');
  await h.put('bob', ['Inbox'], Buffer.from(`From: a@example.com\r\nSubject: deep\r\n${levels}Content-Type: text/plain\r\n\r\nzzz\r\n`));
  const client = await examineAsBob(t, h, 60_000);

  const sections = await client.command('FETCH 1:3 (BODY.PEEK[1])');
  t.is(sections.status, 'NO');
  t.is(sections.code, 'LIMIT');
  t.true(sections.untagged.some((line) => line.startsWith('* 1 FETCH (BODY[1] ')), 'the ordinary message is answered');
  t.false(sections.untagged.some((line) => line.startsWith('* 2 FETCH')), 'the costly one is not');
  t.false(sections.untagged.some((line) => line.startsWith('* 3 FETCH')), 'nor the deep one');
  const deep = await client.command('FETCH 3 (BODYSTRUCTURE ENVELOPE)');
  t.is(deep.status, 'OK');
  t.regex(deep.untagged.join('\n'), /BODYSTRUCTURE \("TEXT" "PLAIN"/);
  t.regex(deep.untagged.join('\n'), /"deep"/);

  const whole = await client.command('UID FETCH 2 (BODY.PEEK[])');
  t.is(whole.status, 'OK');
  checkWholeMessage(t, whole, 2, raw);
  t.is((await client.command('FETCH 2 (BODYSTRUCTURE ENVELOPE)')).status, 'OK');

  // Their bodies were not indexed (not taken apart at ingest either), so every BODY search must
  // check them, and cannot here: they are kept as matches rather than hidden; the ordinary message
  // is checked and left out.
  const search = await client.command('SEARCH BODY zzz');
  t.is(search.status, 'OK');
  t.deepEqual(search.untagged, ['* SEARCH 2 3']);
  t.is((await client.command('NOOP')).status, 'OK');
});
