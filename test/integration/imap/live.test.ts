// New mail while a folder is open: IDLE and NOOP report it as EXISTS (notifier.ts), for mail
// committed by the one write path while the session is selected.
import test from 'ava';
import { message } from '../../unit/helpers.js';
import { startImap } from './harness.js';

const WAIT_MS = 10_000;

function nextExists(client: { once(event: 'exists', listener: (data: { count: number; prevCount: number }) => void): void }): Promise<{ count: number; prevCount: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no EXISTS within the wait')), WAIT_MS);
    client.once('exists', (data) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

test('IDLE reports a message archived into the open folder, and it can be fetched at once', async (t) => {
  const h = await startImap(t);
  await h.put('alice', ['Inbox'], message({ subject: 'before' }));
  const alice = await h.client('alice');
  await alice.mailboxOpen('INBOX');
  const exists = nextExists(alice);
  const idling = alice.idle();
  const raw = message({ subject: 'arrived while idling' });
  const uid = await h.put('alice', ['Inbox'], raw);
  t.deepEqual(await exists, { path: 'INBOX', count: 2, prevCount: 1 } as never);
  const fetched = await alice.fetchOne(String(uid), { source: true }, { uid: true });
  t.deepEqual(fetched && fetched.source, raw);
  await idling.catch(() => undefined);
});

test('NOOP reports new mail; mail for another folder is not reported', async (t) => {
  const h = await startImap(t);
  await h.put('alice', ['Inbox'], message({ subject: 'one' }));
  const alice = await h.client('alice');
  await alice.mailboxOpen('INBOX');
  let reported = 0;
  alice.on('exists', () => reported++);
  await h.put('alice', ['Sent'], message({ subject: 'elsewhere' }));
  await alice.noop();
  t.is(reported, 0);
  await h.put('alice', ['Inbox'], message({ subject: 'two' }));
  await h.put('alice', ['Inbox'], message({ subject: 'three' }));
  // The notification is asynchronous to the commit; NOOP collects what has arrived.
  for (let i = 0; i < 50 && alice.mailbox && alice.mailbox.exists < 3; i++) await alice.noop();
  t.is(alice.mailbox && alice.mailbox.exists, 3);
  t.true(reported >= 1);
});

test('a listing removed from the open folder (a re-filed message) is reported as EXPUNGE, and SELECT no longer lists it', async (t) => {
  const h = await startImap(t);
  const raws = [message({ subject: 'first' }), message({ subject: 'moving away' }), message({ subject: 'third' })];
  for (const raw of raws) await h.put('alice', ['Inbox'], raw);
  const alice = await h.client('alice');
  await alice.mailboxOpen('INBOX');
  const expunged = new Promise<{ seq: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no EXPUNGE within the wait')), WAIT_MS);
    alice.once('expunge', (data: { seq: number }) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
  const idling = alice.idle();
  const sha = (await h.coffer.ingest().ingest({ raw: Buffer.from(raws[1]!), origin: 'test', routing: { kind: 'explicit', targets: [{ archive: 'alice', folder: ['Projects'] }] } })).sha;
  t.true(await h.coffer.ingest().unlist({ archive: 'alice', folder: ['Inbox'], sha }));
  t.is((await expunged).seq, 2);
  await alice.noop(); // ends the IDLE
  await idling.catch(() => undefined);
  t.is(alice.mailbox && alice.mailbox.exists, 2);
  // A new message after the removal still arrives, under a UID above the removal's mark.
  const exists = nextExists(alice);
  const idlingAgain = alice.idle();
  const uid = await h.put('alice', ['Inbox'], message({ subject: 'after the move' }));
  t.is((await exists).count, 3);
  await alice.noop();
  await idlingAgain.catch(() => undefined);
  t.true(uid > 3);

  const other = await h.client('alice');
  const opened = await other.mailboxOpen('INBOX');
  t.is(opened.exists, 3);
  const subjects = [];
  for await (const fetched of other.fetch('1:*', { envelope: true })) subjects.push(fetched.envelope?.subject);
  t.deepEqual(subjects, ['first', 'third', 'after the move']);
  const status = await other.status('Projects', { messages: true });
  t.is(status && status.messages, 1);
  // Removing what is not listed there changes nothing.
  t.false(await h.coffer.ingest().unlist({ archive: 'alice', folder: ['Inbox'], sha }));
  t.false(await h.coffer.ingest().unlist({ archive: 'alice', folder: ['No such folder'], sha }));
});
