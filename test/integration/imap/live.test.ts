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
