// Endpoint policy over real sockets: allowFrom at connect, requireTLS, AUTH, size limits,
// a real store failure answered 451 (never 250), and reload changing the accepted addresses.
import test from 'ava';
import { hashPassword, verifyPassword } from '../../../src/auth/password.js';
import { configFrom, greet, message, send, sha256, startHarness } from './helpers.js';

type SmtpError = Error & { responseCode?: number };

test('a client outside every allowFrom gets 554 at connect and is disconnected', async (t) => {
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - { address: journal@archive.test, archive: journal, allowFrom: ["10.0.0.0/8", "fd00::/8"] }
`,
  );
  const { RawClient } = await import('./helpers.js');
  const client = await RawClient.connect(h.port);
  t.regex(await client.read(), /^554 5\.7\.1 /);
  await client.waitClosed();
  const error = await t.throwsAsync(send(h.port, { from: 'a@b.test', to: ['journal@archive.test'], raw: message() }));
  t.is((error as SmtpError).responseCode, 554);
});

test("RCPT to an endpoint whose allowFrom excludes the client gets 550 5.7.1", async (t) => {
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - { address: journal@archive.test, archive: journal }
    - { address: journal2@archive.test, archive: journal2, allowFrom: ["10.0.0.0/8"] }
`,
  );
  const { client } = await greet(h.port);
  t.regex(await client.command('MAIL FROM:<a@b.test>'), /^250 /);
  t.regex(await client.command('RCPT TO:<journal2@archive.test>'), /^550 5\.7\.1 /);
  t.regex(await client.command('RCPT TO:<journal@archive.test>'), /^250 /);
  client.destroy();
});

test('requireTLS: MAIL before STARTTLS gets 530, after STARTTLS the message is archived', async (t) => {
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - { address: journal@archive.test, archive: journal, requireTLS: true }
`,
  );
  const { client, ehlo } = await greet(h.port);
  t.regex(ehlo, /STARTTLS/);
  t.is(await client.command('MAIL FROM:<a@b.test>'), '530 5.7.0 Must issue a STARTTLS command first');
  t.regex(await client.startTls(), /^220 /);
  t.regex(await client.command('EHLO client.test'), /^250/);
  t.regex(await client.command('MAIL FROM:<a@b.test>'), /^250 /);
  t.regex(await client.command('RCPT TO:<journal@archive.test>'), /^250 /);
  t.regex(await client.command('DATA'), /^354 /);
  const raw = message();
  t.regex(await client.command(`${raw.toString('latin1')}.`), /^250 /);
  t.deepEqual(await h.store.readRaw(await sha256(raw)), raw);
  client.destroy();
});

test('requireTLS on one endpoint of two: checked at RCPT for that endpoint only', async (t) => {
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - { address: journal@archive.test, archive: journal }
    - { address: journal2@archive.test, archive: journal2, requireTLS: true }
`,
  );
  const { client } = await greet(h.port);
  t.regex(await client.command('MAIL FROM:<a@b.test>'), /^250 /);
  t.is(await client.command('RCPT TO:<journal2@archive.test>'), '530 5.7.0 Must issue a STARTTLS command first');
  t.regex(await client.command('RCPT TO:<journal@archive.test>'), /^250 /);
  client.destroy();
});

test('AUTH: 530 without it, refused before TLS, 235 and delivery with it, 535 with a wrong password', async (t) => {
  const hash = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - address: journal@archive.test
      archive: journal
      auth: { users: [{ name: exchange, passwordHash: "${hash}" }] }
`,
  );
  const raw = message();
  const unauthenticated = await t.throwsAsync(send(h.port, { from: 'a@b.test', to: ['journal@archive.test'], raw }));
  t.is((unauthenticated as SmtpError).responseCode, 530);
  t.regex(unauthenticated?.message ?? '', /5\.7\.0 Authentication required/);

  // AUTH is neither offered nor accepted in clear text ...
  const { client, ehlo } = await greet(h.port);
  t.notRegex(ehlo, /AUTH/);
  t.regex(await client.command(`AUTH PLAIN ${Buffer.from('\0exchange\0correct horse').toString('base64')}`), /^5\d\d /);
  // ... and after STARTTLS a wrong password is refused and a right one accepted.
  await client.startTls();
  t.regex(await client.command('EHLO client.test'), /AUTH PLAIN LOGIN/);
  t.is(await client.command(`AUTH PLAIN ${Buffer.from('\0exchange\0wrong').toString('base64')}`), '535 5.7.8 Authentication credentials invalid');
  t.regex(await client.command(`AUTH PLAIN ${Buffer.from('\0exchange\0correct horse').toString('base64')}`), /^235 /);
  client.destroy();

  const info = await send(h.port, { from: 'a@b.test', to: ['journal@archive.test'], raw, auth: { user: 'exchange', pass: 'correct horse' } });
  t.regex(info.response, /^250 /);
  t.deepEqual(await h.placesOf(await sha256(raw)), ['alice/Inbox', 'journal/Inbox']);
});

test('AUTH: after five failures the address is locked out (454), even with the right password', async (t) => {
  const hash = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - address: journal@archive.test
      archive: journal
      auth: { users: [{ name: exchange, passwordHash: "${hash}" }] }
`,
  );
  const plain = (password: string): string => `AUTH PLAIN ${Buffer.from(`\0exchange\0${password}`).toString('base64')}`;
  const { client } = await greet(h.port);
  await client.startTls();
  await client.command('EHLO client.test');
  for (let i = 0; i < 5; i++) t.is(await client.command(plain(`guess ${i}`)), '535 5.7.8 Authentication credentials invalid');
  t.regex(await client.command(plain('correct horse')), /^454 4\.7\.0 Too many failed authentication attempts, try again in \d+ seconds$/);
  client.destroy();
  const error = await t.throwsAsync(send(h.port, { from: 'a@b.test', to: ['journal@archive.test'], raw: message(), auth: { user: 'exchange', pass: 'correct horse' } }));
  t.is((error as SmtpError).responseCode, 454);
  t.is(await h.messageCount(), 0);
});

test('oversize: SIZE= over the limit gets 552 at MAIL, a DATA over the limit 552 after draining, nothing stored', async (t) => {
  const h = await startHarness(
    t,
    `
smtp:
  endpoints:
    - { address: journal@archive.test, archive: journal, maxMessageSize: 10KB }
`,
  );
  const { client, ehlo } = await greet(h.port);
  t.regex(ehlo, /SIZE 10240/);
  t.regex(await client.command('MAIL FROM:<a@b.test> SIZE=20000'), /^552 /);
  t.regex(await client.command('MAIL FROM:<a@b.test>'), /^250 /);
  t.regex(await client.command('RCPT TO:<journal@archive.test>'), /^250 /);
  t.regex(await client.command('DATA'), /^354 /);
  const big = message({ body: 'z'.repeat(100_000) });
  t.is(await client.command(`${big.toString('latin1')}.`), '552 5.3.4 Message size exceeds fixed maximum message size');
  // The stream was drained: the connection is still in step and usable.
  t.regex(await client.command('NOOP'), /^250 /);
  client.destroy();
  const error = await t.throwsAsync(send(h.port, { from: 'a@b.test', to: ['journal@archive.test'], raw: big }));
  t.is((error as SmtpError).responseCode, 552);
  t.is(await h.messageCount(), 0);
});

test('a store failure answers 451 4.3.0, never 250, and the server keeps serving', async (t) => {
  const h = await startHarness(t, 'smtp:\n  endpoints:\n    - { address: journal@archive.test, archive: journal }\n');
  // A real failure: the LevelDB store under the pipeline is closed.
  await h.store.close();
  const error = await t.throwsAsync(send(h.port, { from: 'a@b.test', to: ['journal@archive.test'], raw: message() }));
  t.is((error as SmtpError).responseCode, 451);
  t.regex(error?.message ?? '', /4\.3\.0/);
  const { banner, client } = await greet(h.port);
  t.regex(banner, /^220 /);
  client.destroy();
});

test('reload: new endpoint addresses apply to new transactions', async (t) => {
  const h = await startHarness(t, 'smtp:\n  endpoints:\n    - { address: journal@archive.test, archive: journal }\n');
  const before = await t.throwsAsync(send(h.port, { from: 'a@b.test', to: ['journal2@archive.test'], raw: message() }));
  t.is((before as SmtpError).responseCode, 550);

  // A session that began its transaction before the reload keeps the old rules until it ends.
  const { client } = await greet(h.port);
  t.regex(await client.command('MAIL FROM:<a@b.test>'), /^250 /);

  const next = configFrom(
    h.dir,
    `dataDir: ${h.config.dataDir}\narchives: [{ name: journal }, { name: journal2 }, { name: alice, address: alice@example.com }, { name: bob, address: bob@example.com }]\nsmtp:\n  endpoints:\n    - { address: journal2@archive.test, archive: journal2 }\n`,
  );
  await h.smtp.reload?.(next);
  t.regex(await client.command('RCPT TO:<journal2@archive.test>'), /^550 /);
  t.regex(await client.command('RCPT TO:<journal@archive.test>'), /^250 /);
  client.destroy();

  const raw = message();
  const info = await send(h.port, { from: 'a@b.test', to: ['journal2@archive.test'], raw });
  t.regex(info.response, /^250 /);
  t.deepEqual(await h.placesOf(await sha256(raw)), ['alice/Inbox', 'journal2/Inbox']);
  const after = await t.throwsAsync(send(h.port, { from: 'a@b.test', to: ['journal@archive.test'], raw: message() }));
  t.is((after as SmtpError).responseCode, 550);
});

test('password hashes: scrypt format round trip, wrong and malformed hashes are false', async (t) => {
  const hash = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
  t.regex(hash, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
  t.true(await verifyPassword('pw', hash));
  t.false(await verifyPassword('pW', hash));
  for (const bad of ['', 'scrypt$', 'scrypt$1000$8$1$c2FsdA==$aGFzaA==', `scrypt$${2 ** 30}$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==`, hash.replace('$8$', '$x$')]) {
    t.false(await verifyPassword('pw', bad), bad);
  }
});

test('a dual-stack listener sees ::ffff:127.0.0.1, which matches IPv4 allowFrom rules', async (t) => {
  const yaml = (cidr: string): string => `smtp:\n  endpoints:\n    - { address: journal@archive.test, archive: journal, allowFrom: ["${cidr}"] }\n`;
  const allowed = await startHarness(t, yaml('127.0.0.0/8'), { listen: '[::]:0' });
  const raw = message();
  t.regex((await send(allowed.port, { from: 'a@b.test', to: ['journal@archive.test'], raw })).response, /^250 /);
  t.deepEqual(await allowed.placesOf(await sha256(raw)), ['alice/Inbox', 'journal/Inbox']);
  const refused = await startHarness(t, yaml('10.0.0.0/8'), { listen: '[::]:0' });
  const error = await t.throwsAsync(send(refused.port, { from: 'a@b.test', to: ['journal@archive.test'], raw }));
  t.is((error as SmtpError).responseCode, 554);
});
