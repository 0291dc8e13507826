// Archiving profiles against a real Dovecot over IMAP: folder rules, sent detection, incremental
// re-runs, filters, every deletion rule (checked at the source), flagged protection, UIDVALIDITY
// reset, a message the server cannot deliver, and the connection failures a run must report.
import { createServer } from 'node:net';
import test from 'ava';
import { Directions } from '../../../src/store/records.js';
import { verifyStore } from '../../../src/store/verify.js';
import { startDropProxy } from '../dovecot/drop-proxy.js';
import { message, startDovecotOnly, startProfiles } from './harness.js';

const ALICE = 'alice@example.com';

function mailboxProfile(extra = '', server = 'host: 127.0.0.1, port: {imaps}, security: tls, ignoreCertificateErrors: true, timeout: 10s'): string {
  return `
archives:
  - { name: alice, address: ${ALICE} }
profiles:
  - name: alice-box
    kind: mailbox
    server: { ${server} }
    user: ${ALICE}
    password: secret
    archive: alice
${extra}`;
}

test('a mailbox profile keeps the folder tree, skips default exclusions, files sent mail as sent, and re-runs archive nothing twice', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const inbox = [message({ subject: 'one' }), message({ subject: 'two', body: 'caf\u00e9 8-bit body' })];
  for (const raw of inbox) await dovecot.append(ALICE, 'INBOX', raw, { flags: ['\\Seen'] });
  const sent = message({ from: ALICE, to: 'bob@example.org', subject: 'sent one' });
  await dovecot.append(ALICE, 'Sent', sent, { flags: ['\\Seen'] });
  await dovecot.append(ALICE, 'Trash', message({ subject: 'trashed' }));
  await dovecot.append(ALICE, 'Drafts', message({ subject: 'draft' }));
  await dovecot.append(ALICE, 'Junk', message({ subject: 'spam' }));
  const nested = message({ subject: 'nested' });
  await dovecot.append(ALICE, 'Projects/Z\u00fcrich', nested);
  await dovecot.append(ALICE, 'Private', message({ subject: 'private' }));

  const h = await startProfiles(t, dovecot, mailboxProfile('    folders: { exclude: [Private] }'));
  const first = await h.run('alice-box');
  t.is(first.status, 'ok', JSON.stringify(first.errors));
  t.is(first.archived, 4);
  t.deepEqual(
    (await h.archived('alice', ['Inbox'])).map((raw) => raw.toString()),
    inbox,
  );
  t.deepEqual((await h.archived('alice', ['Sent'])).map(String), [sent]);
  t.deepEqual((await h.archived('alice', ['Projects', 'Z\u00fcrich'])).map(String), [nested]);
  const folders = await h.folders('alice');
  for (const excluded of ['Trash', 'Drafts', 'Junk', 'Private']) t.false(excluded in folders, excluded);

  // Filed as sent because of the folder it came from.
  const sentFolder = await h.coffer.store.getFolder((await h.coffer.store.getArchive('alice'))!.id, ['Sent']);
  const [entry] = await h.coffer.store.getEntries([{ folderId: sentFolder!.id, uid: 1 }]);
  t.is(entry?.direction, Directions.Sent);

  const second = await h.run('alice-box');
  t.is(second.archived, 0);
  t.is(second.unchanged, 4);
  t.deepEqual(await h.folders('alice'), folders);

  await dovecot.append(ALICE, 'INBOX', message({ subject: 'three' }));
  const third = await h.run('alice-box');
  t.is(third.archived, 1);
  t.is((await h.archived('alice', ['Inbox'])).length, 3);

  const history = await h.runner.history('alice-box', 10);
  t.deepEqual(history.map((run) => run.archived), [1, 0, 4]);
});

test('filters: unread mail and mail younger than the filter date stay at the source', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'old read' }), { flags: ['\\Seen'], internalDate: new Date('2020-01-01T00:00:00Z') });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'old unread' }), { internalDate: new Date('2020-01-01T00:00:00Z') });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'new read' }), { flags: ['\\Seen'], internalDate: new Date('2025-06-01T00:00:00Z') });
  const h = await startProfiles(t, dovecot, mailboxProfile('    filter: { archiveUnread: false, olderThan: { date: "2024-01-01", utc: true } }'));
  const run = await h.run('alice-box');
  t.is(run.archived, 1);
  t.is(run.skipped, 2);
  t.regex((await h.archived('alice', ['Inbox']))[0]!.toString(), /Subject: old read/);
  // Marked read at the source: the next run archives it.
  const unread = (await dovecot.messages(ALICE, 'INBOX')).find((m) => /old unread/.test(m.raw.toString()))!;
  await dovecot.setFlags(ALICE, 'INBOX', unread.uid, ['\\Seen']);
  t.is((await h.run('alice-box')).archived, 1);
});

test('delete immediately: archived messages leave the source, flagged ones stay', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'plain' }), { flags: ['\\Seen'] });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'flagged' }), { flags: ['\\Seen', '\\Flagged'] });
  await dovecot.append(ALICE, 'Sent', message({ subject: 'sent', from: ALICE }), { flags: ['\\Seen'] });
  const h = await startProfiles(t, dovecot, mailboxProfile('    delete: immediately'));
  const run = await h.run('alice-box');
  t.is(run.status, 'ok', JSON.stringify(run.errors));
  t.is(run.archived, 3);
  t.is(run.deleted, 2);
  const left = await dovecot.messages(ALICE, 'INBOX');
  t.is(left.length, 1);
  t.regex(left[0]!.raw.toString(), /Subject: flagged/);
  t.is((await dovecot.messages(ALICE, 'Sent')).length, 0);
  t.is((await h.archived('alice', ['Inbox'])).length, 2);
  // Nothing is archived twice nor deleted again on the next run.
  const again = await h.run('alice-box');
  t.is(again.archived, 0);
  t.is(again.deleted, 0);
});

test('delete at least N days after archiving: only once that time has passed', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'a' }), { flags: ['\\Seen'] });
  const h = await startProfiles(t, dovecot, mailboxProfile('    delete: { afterArchived: 30d }'));
  t.is((await h.run('alice-box')).deleted, 0);
  h.now = new Date(h.now.getTime() + 29 * 86_400_000);
  t.is((await h.run('alice-box')).deleted, 0);
  t.is((await dovecot.messages(ALICE, 'INBOX')).length, 1);
  h.now = new Date(h.now.getTime() + 2 * 86_400_000);
  const run = await h.run('alice-box');
  t.is(run.deleted, 1);
  t.is((await dovecot.messages(ALICE, 'INBOX')).length, 0);
  t.is((await h.archived('alice', ['Inbox'])).length, 1);
});

test('delete if older than N: old messages are moved, younger ones copied; the filter range wins when longer', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const now = Date.now();
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'ancient' }), { flags: ['\\Seen'], internalDate: new Date(now - 400 * 86_400_000) });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'two months' }), { flags: ['\\Seen'], internalDate: new Date(now - 60 * 86_400_000) });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'recent' }), { flags: ['\\Seen'], internalDate: new Date(now - 2 * 86_400_000) });
  const h = await startProfiles(t, dovecot, mailboxProfile('    delete: { olderThan: 30d }\n    filter: { olderThan: { range: 90d } }'));
  const run = await h.run('alice-box');
  // The filter (90 days) archives only "ancient"; the rule's 30 days give way to the longer 90.
  t.is(run.archived, 1);
  t.is(run.deleted, 1);
  const left = (await dovecot.messages(ALICE, 'INBOX')).map((m) => /Subject: (.*)/.exec(m.raw.toString())![1]);
  t.deepEqual(left, ['two months', 'recent']);
});

test('a message moved at the source is re-filed, not listed twice; one moved to Trash, or one of two copies, stays archived; search follows', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const moved = message({ subject: 'report moved to projects' });
  const trashed = message({ subject: 'note moved to trash' });
  const stays = message({ subject: 'stays in the inbox' });
  const copied = message({ subject: 'kept in both folders' });
  const project = message({ subject: 'project plan' });
  for (const raw of [moved, trashed, stays, copied]) await dovecot.append(ALICE, 'INBOX', raw);
  for (const raw of [project, copied]) await dovecot.append(ALICE, 'Projects', raw);
  const h = await startProfiles(t, dovecot, mailboxProfile());
  const run = async () => {
    h.now = new Date(h.now.getTime() + 60_000);
    return h.run('alice-box');
  };
  t.is((await run()).archived, 6);
  const hits = async (subject: string, folder: string) => (await h.coffer.search({ query: `"${subject}"`, archive: 'alice', folder })).results.map((hit) => hit.folder);
  t.deepEqual(await hits('report moved to projects', 'Inbox'), ['Inbox']);

  const uidIn = async (folder: string, raw: string) => (await dovecot.messages(ALICE, folder)).find((m) => m.raw.toString() === raw)!.uid;
  await dovecot.move(ALICE, 'INBOX', await uidIn('INBOX', moved), 'Projects');
  await dovecot.move(ALICE, 'INBOX', await uidIn('INBOX', trashed), 'Trash');
  // One of two copies goes (to the Trash): the other was in Projects all along, so this is no move.
  await dovecot.move(ALICE, 'INBOX', await uidIn('INBOX', copied), 'Trash');
  const second = await run();
  t.is(second.status, 'ok', JSON.stringify(second.errors));
  t.is(second.refiled, 1);
  t.deepEqual((await h.archived('alice', ['Inbox'])).map(String), [trashed, stays, copied]);
  t.deepEqual((await h.archived('alice', ['Projects'])).map(String), [project, copied, moved]);
  t.deepEqual(await h.folders('alice'), { Inbox: 3, Projects: 3 });
  // Stored once, listed once, and the search index agrees with the listings.
  t.is((await h.coffer.store.counters()).messages, 5);
  t.deepEqual(await hits('report moved to projects', 'Inbox'), []);
  t.deepEqual(await hits('report moved to projects', 'Projects'), ['Projects']);
  t.deepEqual((await verifyStore(h.coffer.store)).problems, []);

  const again = await run();
  t.is(again.refiled, 0);
  t.is(again.archived, 0);

  // Moved back: listed in the Inbox again under a new UID, and gone from Projects.
  await dovecot.move(ALICE, 'Projects', await uidIn('Projects', moved), 'INBOX');
  t.is((await run()).refiled, 1);
  t.deepEqual((await h.archived('alice', ['Inbox'])).map(String), [trashed, stays, copied, moved]);
  t.deepEqual((await h.archived('alice', ['Projects'])).map(String), [project, copied]);
  t.deepEqual((await verifyStore(h.coffer.store)).problems, []);

  // A rebuilt index (`coffer reindex`) follows the removals too, and still finds the moved message.
  await h.coffer.index.rebuild();
  t.deepEqual(await hits('report moved to projects', 'Projects'), []);
  t.deepEqual(await hits('report moved to projects', 'Inbox'), ['Inbox']);
  t.deepEqual(await hits('project plan', 'Projects'), ['Projects']);
});

test('a folder skipped as unchanged still counts for re-filing: a move an unfinished run half saw is re-filed by the next', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const moved = message({ subject: 'report moved to projects' });
  const stays = message({ subject: 'stays in the inbox' });
  const project = message({ subject: 'project plan' });
  for (const raw of [moved, stays]) await dovecot.append(ALICE, 'INBOX', raw);
  await dovecot.append(ALICE, 'Projects', project);
  await dovecot.append(ALICE, 'Later', message({ subject: 'in a folder that will fail' }));
  const h = await startProfiles(t, dovecot, mailboxProfile());
  const run = async () => {
    h.now = new Date(h.now.getTime() + 60_000);
    return h.run('alice-box');
  };
  t.is((await run()).archived, 4);
  const movedUid = (await dovecot.messages(ALICE, 'INBOX')).find((m) => m.raw.toString() === moved)!.uid;
  await dovecot.move(ALICE, 'INBOX', movedUid, 'Projects');
  // A folder that cannot be read: the run archives what arrived in Projects but decides no move.
  const repair = await dovecot.breakFolder(ALICE, 'Later');
  const second = await run();
  t.is(second.status, 'partial', JSON.stringify(second));
  t.true(second.errors.some((error) => error.folder === 'Later'), JSON.stringify(second.errors));
  t.is(second.archived, 1);
  t.is(second.refiled, 0);
  t.deepEqual(await h.folders('alice'), { Inbox: 2, Later: 1, Projects: 2 });
  repair();
  // Projects is unchanged since (skipped without loading its items), yet it is where the message went.
  const third = await run();
  t.is(third.status, 'ok', JSON.stringify(third.errors));
  t.is(third.archived, 0);
  t.is(third.refiled, 1);
  t.deepEqual((await h.archived('alice', ['Inbox'])).map(String), [stays]);
  t.deepEqual((await h.archived('alice', ['Projects'])).map(String), [project, moved]);
  t.deepEqual((await verifyStore(h.coffer.store)).problems, []);
  const idle = await run();
  t.is(idle.unchanged, 4);
  t.is(idle.refiled, 0);
});

test('a UIDVALIDITY reset at the source archives nothing twice', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  for (let i = 0; i < 3; i++) await dovecot.append(ALICE, 'INBOX', message());
  const h = await startProfiles(t, dovecot, mailboxProfile());
  t.is((await h.run('alice-box')).archived, 3);
  const before = await dovecot.uidValidity(ALICE, 'INBOX');
  await dovecot.resetUidValidity(ALICE, 'INBOX');
  t.not(await dovecot.uidValidity(ALICE, 'INBOX'), before);
  await dovecot.append(ALICE, 'INBOX', message());
  const run = await h.run('alice-box');
  t.is(run.status, 'ok', JSON.stringify(run.errors));
  t.is(run.archived, 1);
  t.is(run.unchanged, 3);
  t.is((await h.archived('alice', ['Inbox'])).length, 4);
});

test('a message the server cannot deliver is reported, the rest is archived, and the next run resumes', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const uids: number[] = [];
  for (let i = 0; i < 6; i++) uids.push(await dovecot.append(ALICE, 'INBOX', message({ subject: `m${i}` })));
  await dovecot.breakMessage(ALICE, 'INBOX', uids[2]!);
  const h = await startProfiles(t, dovecot, mailboxProfile());
  const run = await h.run('alice-box');
  t.is(run.status, 'partial');
  t.is(run.archived, 5);
  t.is(run.errors.length, 1);
  t.regex(run.errors[0]!.message, new RegExp(`UID ${uids[2]}: not archived`));
  t.is(run.errors[0]!.folder, 'INBOX');
  const again = await h.run('alice-box');
  t.is(again.archived, 0);
  t.is(again.unchanged, 5);
  t.is(again.errors.length, 1);
  t.is((await h.archived('alice', ['Inbox'])).length, 5);
});

test('a connection dropped mid-FETCH is survived: the run reconnects and archives everything once', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const raws: string[] = [];
  for (let i = 0; i < 20; i++) {
    raws.push(message({ body: `${'x'.repeat(2000)} ${i}` }));
    await dovecot.append(ALICE, 'INBOX', raws[i]!);
  }
  const proxy = await startDropProxy({ port: dovecot.ports.imap });
  t.teardown(() => proxy.close());
  const h = await startProfiles(t, dovecot, mailboxProfile('', `host: 127.0.0.1, port: ${proxy.port}, security: none, timeout: 10s`));
  // The first connection is cut after the greeting, login and part of the body fetch.
  proxy.cutAfter(20_000);
  const run = await h.run('alice-box');
  t.is(run.archived, 20, JSON.stringify(run.errors));
  t.deepEqual((await h.archived('alice', ['Inbox'])).map(String), raws);
});

test('unsolicited flag updates amid a FETCH are not taken for its answers: every message is listed with its date and archived', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const raws = ['one', 'two', 'three'].map((subject) => message({ subject }));
  for (const raw of raws) await dovecot.append(ALICE, 'INBOX', raw, { flags: ['\\Seen'], internalDate: new Date('2020-01-01T00:00:00Z') });
  const proxy = await startDropProxy({ port: dovecot.ports.imap });
  t.teardown(() => proxy.close());
  // What a server sends when another session changes a message's flags: here ahead of the rows of
  // both the listing and the body fetch, in the form a UID command gets (with the UID).
  proxy.injectBefore(/^\S+ (UID )?FETCH /, () => '* 2 FETCH (UID 2 FLAGS (\\Seen \\Answered))\r\n');
  const filter = '    filter: { archiveUnread: false, olderThan: { date: "2024-01-01", utc: true } }';
  const h = await startProfiles(t, dovecot, mailboxProfile(filter, `host: 127.0.0.1, port: ${proxy.port}, security: none, timeout: 10s`));
  const run = await h.run('alice-box');
  t.deepEqual(run.errors, []);
  t.is(run.archived, 3);
  t.is(run.skipped, 0);
  t.deepEqual((await h.archived('alice', ['Inbox'])).map(String), raws);
});

test('failures are reported clearly in the run history: wrong password, TLS, unreachable, timeout', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => silent.close());
  const silentPort = (silent.address() as { port: number }).port;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const yaml = `
archives: [{ name: alice, address: ${ALICE} }]
profiles:
  - { name: badpass, kind: mailbox, server: { host: 127.0.0.1, port: {imaps}, ignoreCertificateErrors: true, timeout: 10s }, user: ${ALICE}, password: wrong, archive: alice }
  - { name: badcert, kind: mailbox, server: { host: 127.0.0.1, port: {imaps}, timeout: 10s }, user: ${ALICE}, password: secret, archive: alice }
  - { name: unreachable, kind: mailbox, server: { host: 127.0.0.1, port: ${closedPort}, timeout: 10s }, user: ${ALICE}, password: secret, archive: alice }
  - { name: silent, kind: mailbox, server: { host: 127.0.0.1, port: ${silentPort}, security: none, timeout: 1s }, user: ${ALICE}, password: secret, archive: alice }
  - { name: starttls, kind: mailbox, server: { host: 127.0.0.1, port: {imap}, security: starttls, ignoreCertificateErrors: true, timeout: 10s }, user: ${ALICE}, password: secret, archive: alice }
`;
  const h = await startProfiles(t, dovecot, yaml);
  const expectations: [string, RegExp][] = [
    ['badpass', /login failed/],
    ['badcert', /TLS failed/],
    ['unreachable', /cannot connect \(ECONNREFUSED\)/],
    ['silent', /timed out/],
  ];
  for (const [name, pattern] of expectations) {
    const run = await h.run(name);
    t.is(run.status, 'failed', name);
    t.regex(run.errors[0]!.message, pattern, name);
    t.false(run.errors[0]!.message.includes('secret'), name);
    t.deepEqual((await h.runner.history(name, 5)).map((r) => r.status), ['failed']);
  }
  t.is((await h.run('starttls')).status, 'ok');
});
