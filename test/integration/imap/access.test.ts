// Who sees which archive over IMAP (issue 5, "Users"): grants for users, admins only with
// compliance.adminArchiveAccess, auditors everything; refused logins and throttling.
import test from 'ava';
import { message } from '../../unit/helpers.js';
import { accountsYaml, imapClient, PASSWORD, startImap } from './harness.js';

async function fill(h: Awaited<ReturnType<typeof startImap>>): Promise<void> {
  for (const archive of ['alice', 'bob', 'carol']) await h.put(archive, ['Inbox'], message({ subject: `${archive} mail` }));
}

async function paths(h: Awaited<ReturnType<typeof startImap>>, user: string): Promise<string[]> {
  const client = await h.client(user);
  return (await client.list()).filter((mailbox) => !mailbox.flags.has('\\Noselect')).map((mailbox) => mailbox.path).sort();
}

test('a user sees own and granted archives only, and cannot open others by path', async (t) => {
  const h = await startImap(t);
  await fill(h);
  t.deepEqual(await paths(h, 'bob'), ['INBOX', 'Other Archives/carol/Inbox']);
  const alice = await h.client('alice');
  await t.throwsAsync(alice.mailboxOpen('Other Archives/bob/Inbox'));
  await t.throwsAsync(alice.status('Other Archives/bob/Inbox', { messages: true }));
});

test('an admin reads other archives only when compliance.adminArchiveAccess is true; an auditor reads all', async (t) => {
  const closed = await startImap(t);
  await fill(closed);
  // The admin has no archive of its own: an empty INBOX and nothing else.
  t.deepEqual(await paths(closed, 'root'), ['INBOX']);
  t.deepEqual(await paths(closed, 'audit'), ['INBOX', 'Other Archives/alice/Inbox', 'Other Archives/bob/Inbox', 'Other Archives/carol/Inbox']);
  const auditor = await closed.client('audit');
  const opened = await auditor.mailboxOpen('Other Archives/bob/Inbox');
  t.true(opened.readOnly);
  t.is(opened.exists, 1);

  const open = await startImap(t, { yaml: await accountsYaml('compliance: { adminArchiveAccess: true }') });
  await fill(open);
  t.deepEqual(await paths(open, 'root'), ['INBOX', 'Other Archives/alice/Inbox', 'Other Archives/bob/Inbox', 'Other Archives/carol/Inbox']);
});

test('wrong passwords are refused, repeated failures lock the name out, a success after a few failures works', async (t) => {
  const h = await startImap(t);
  const attempt = async (user: string, pass: string): Promise<boolean> => {
    const client = imapClient(h.tlsPort, user, pass);
    try {
      await client.connect();
      await client.logout();
      return true;
    } catch {
      client.close();
      return false;
    }
  };
  t.false(await attempt('alice', 'wrong'));
  t.false(await attempt('nobody', PASSWORD));
  t.true(await attempt('alice', PASSWORD));
  for (let i = 0; i < 5; i++) t.false(await attempt('bob', 'wrong'));
  // Locked out: even the right password is refused now, without a hash being computed.
  t.false(await attempt('bob', PASSWORD));
});
