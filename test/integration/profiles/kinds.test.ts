// Every source kind against a real Dovecot: POP3 single mailbox (with deletion), many IMAP
// mailboxes through one master login (SASL PLAIN authorization identity), many from a CSV file
// (archive created when missing), and multidrop mailboxes over IMAP and POP3 routed by address.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { message, startDovecotOnly, startProfiles } from './harness.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

test('pop3: a single mailbox over TLS, incremental by UIDL, deleted at the source only once archived', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE] });
  const raws = [message({ subject: 'p1', body: '.leading dot\r\n..two dots' }), message({ subject: 'p2' })];
  for (const raw of raws) await dovecot.append(ALICE, 'INBOX', raw);
  const yaml = `
archives: [{ name: alice, address: ${ALICE} }]
profiles:
  - { name: pop, kind: mailbox, server: { protocol: pop3, host: 127.0.0.1, port: {pop3s}, ignoreCertificateErrors: true, timeout: 10s }, user: ${ALICE}, password: secret, archive: alice }
  - { name: pop-move, kind: mailbox, server: { protocol: pop3, host: 127.0.0.1, port: {pop3}, security: starttls, ignoreCertificateErrors: true, timeout: 10s }, user: ${ALICE}, password: secret, archive: alice, delete: immediately }
`;
  const h = await startProfiles(t, dovecot, yaml);
  const first = await h.run('pop');
  t.is(first.status, 'ok', JSON.stringify(first.errors));
  t.is(first.archived, 2);
  t.deepEqual((await h.archived('alice', ['Inbox'])).map(String), raws);
  t.is((await h.run('pop')).archived, 0);
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'p3' }));
  t.is((await h.run('pop')).archived, 1);
  t.is((await dovecot.messages(ALICE, 'INBOX')).length, 3);

  const moving = await h.run('pop-move');
  t.is(moving.status, 'ok', JSON.stringify(moving.errors));
  t.is(moving.unchanged, 3);
  t.is(moving.deleted, 3);
  t.is((await dovecot.messages(ALICE, 'INBOX')).length, 0);
  t.is((await h.archived('alice', ['Inbox'])).length, 3);
});

test('master password: one privileged login opens every archive address mailbox (SASL PLAIN authzid)', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE, BOB], master: { name: 'archiver', password: 'masterpw' } });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'for alice' }));
  await dovecot.append(BOB, 'INBOX', message({ to: BOB, subject: 'for bob' }));
  await dovecot.append(BOB, 'Sent', message({ from: BOB, subject: 'from bob' }));
  const yaml = `
archives:
  - { name: alice, address: ${ALICE} }
  - { name: bob, address: ${BOB} }
  - { name: noaddress }
profiles:
  - { name: everyone, kind: master, server: { host: 127.0.0.1, port: {imaps}, ignoreCertificateErrors: true, timeout: 10s }, user: archiver, password: { env: MASTER_PW }, parallel: 2 }
  - { name: only-bob, kind: master, server: { host: 127.0.0.1, port: {imaps}, ignoreCertificateErrors: true, timeout: 10s }, user: archiver, password: { env: MASTER_PW }, mailboxes: { only: [bob] } }
`;
  const h = await startProfiles(t, dovecot, yaml, { MASTER_PW: 'masterpw' });
  const run = await h.run('everyone');
  t.is(run.status, 'ok', JSON.stringify(run.errors));
  t.is(run.mailboxes, 2);
  t.is(run.archived, 3);
  t.deepEqual(await h.folders('alice'), { Inbox: 1 });
  t.deepEqual(await h.folders('bob'), { Inbox: 1, Sent: 1 });
  const onlyBob = await h.run('only-bob');
  t.is(onlyBob.mailboxes, 1);
  t.is(onlyBob.unchanged, 2);
});

test('csv: each row is a mailbox; the archive is created when missing; a malformed file names the line', async (t) => {
  const dovecot = await startDovecotOnly(t, { users: [ALICE, BOB], password: 'p;w"d' });
  await dovecot.append(ALICE, 'INBOX', message({ subject: 'a' }));
  await dovecot.append(BOB, 'INBOX', message({ subject: 'b' }));
  const yaml = `
archives: [{ name: alice, address: ${ALICE} }]
profiles:
  - { name: batch, kind: csv, server: { host: 127.0.0.1, port: {imaps}, ignoreCertificateErrors: true, timeout: 10s }, csv: mailboxes.csv }
`;
  const h = await startProfiles(t, dovecot, yaml);
  const csv = join(h.dir, 'mailboxes.csv');
  writeFileSync(csv, `IMAP user;IMAP password;E-mail;Archive\r\n${ALICE};"p;w""d";${ALICE};alice\r\n${BOB};'p;w"d';;\r\n`);
  const run = await h.run('batch');
  t.is(run.status, 'ok', JSON.stringify(run.errors));
  t.is(run.archived, 2);
  t.deepEqual(await h.folders('alice'), { Inbox: 1 });
  // No archive column: an archive named like the IMAP user, created on the fly.
  t.deepEqual(await h.folders(BOB), { Inbox: 1 });

  writeFileSync(csv, `user,password\r\n${ALICE},"unterminated\r\n`);
  const broken = await h.run('batch');
  t.is(broken.status, 'failed');
  t.regex(broken.errors[0]!.message, /mailboxes\.csv:2: .*quote/);
});

test('multidrop over IMAP and POP3: routed by address (Delivered-To too), unknown addresses skipped or kept', async (t) => {
  const DROP = 'drop@example.com';
  const dovecot = await startDovecotOnly(t, { users: [DROP] });
  const toAlice = message({ from: 'x@example.org', to: ALICE, subject: 'to alice' });
  const fromBob = message({ from: BOB, to: 'someone@example.org', subject: 'from bob' });
  const bccAlice = message({ from: 'x@example.org', to: 'list@example.org', subject: 'delivered', extraHeaders: [`Delivered-To: ${ALICE}`] });
  const stranger = message({ from: 'x@example.org', to: 'nobody@example.org', subject: 'stranger' });
  for (const raw of [toAlice, fromBob, bccAlice, stranger]) await dovecot.append(DROP, 'INBOX', raw, { flags: ['\\Seen'] });
  const yaml = `
archives:
  - { name: alice, address: ${ALICE} }
  - { name: bob, address: ${BOB} }
  - { name: catchall }
profiles:
  - { name: drop-imap, kind: multidrop, server: { host: 127.0.0.1, port: {imaps}, ignoreCertificateErrors: true, timeout: 10s }, user: ${DROP}, password: secret }
  - { name: drop-pop, kind: multidrop, server: { protocol: pop3, host: 127.0.0.1, port: {pop3s}, ignoreCertificateErrors: true, timeout: 10s }, user: ${DROP}, password: secret, unknownAddresses: { archive: catchall }, delete: immediately }
`;
  const h = await startProfiles(t, dovecot, yaml);
  const run = await h.run('drop-imap');
  t.is(run.status, 'ok', JSON.stringify(run.errors));
  t.is(run.archived, 3);
  t.is(run.skipped, 1);
  t.deepEqual((await h.archived('alice', ['Inbox'])).map(String), [toAlice, bccAlice]);
  t.deepEqual((await h.archived('bob', ['Sent'])).map(String), [fromBob]);
  t.deepEqual(await h.folders('catchall'), {});

  const pop = await h.run('drop-pop');
  t.is(pop.status, 'ok', JSON.stringify(pop.errors));
  t.deepEqual((await h.archived('catchall', ['Inbox'])).map(String), [stranger]);
  // Everything was archived somewhere, so everything left the source.
  t.is(pop.deleted, 4);
  t.is((await dovecot.messages(DROP, 'INBOX')).length, 0);
  t.is((await h.archived('alice', ['Inbox'])).length, 2);
});
