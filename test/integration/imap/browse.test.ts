// Browsing an archive with ImapFlow over real TLS: the mailbox tree, SELECT/EXAMINE read-only,
// STATUS, and FETCH of every data item, with bytes compared to what was archived.
import test from 'ava';
import { message } from '../../unit/helpers.js';
import { startImap } from './harness.js';

test('the own archive is at the top with INBOX, other readable archives under Other Archives', async (t) => {
  const h = await startImap(t);
  await h.put('bob', ['Inbox'], message({ subject: 'bob in' }));
  await h.put('bob', ['Sent'], message({ subject: 'bob out' }));
  await h.put('bob', ['Projects', 'Zürich'], message({ subject: 'project' }));
  await h.put('carol', ['Inbox'], message({ subject: 'carol in' }));
  await h.put('alice', ['Inbox'], message({ subject: 'alice in' }));

  const bob = await h.client('bob');
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
