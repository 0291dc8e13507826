// Hostile protocol input over raw sockets: each case asserts the replies it gets, and that the
// server still greets a new connection afterwards. No timing assertions; every wait is bounded.
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { greet, message, RawClient, sha256, startHarness, type Harness } from './helpers.js';

const ENDPOINT = 'smtp:\n  endpoints:\n    - { address: journal@archive.test, archive: journal }\n';

async function stillServing(t: ExecutionContext, h: Harness): Promise<void> {
  const { client, banner } = await greet(h.port);
  t.regex(banner, /^220 /);
  client.destroy();
}

test('a 10 MB command line gets an error reply and the connection is closed', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  const client = await RawClient.connect(h.port);
  t.regex(await client.read(), /^220 /);
  // Written in pieces, without a line end: the server must give up long before the end.
  const chunk = Buffer.alloc(1024 * 1024, 'A');
  for (let i = 0; i < 10; i++) client.write(chunk);
  client.write('\r\n');
  t.is(await client.read(), '421 Error: Command line too long');
  await client.waitClosed();
  await stillServing(t, h);
});

test('bytes after QUIT are ignored: 221 and the connection closes', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  const { client } = await greet(h.port);
  client.write('QUIT\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<journal@archive.test>\r\nDATA\r\n\x00\xff garbage\r\n');
  t.regex(await client.read(), /^221 /);
  await client.waitClosed();
  t.is(await h.messageCount(), 0);
  await stillServing(t, h);
});

test('pipelined garbage gets 5xx replies and then a 421 hang-up; a pipelined transaction works', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  const { client } = await greet(h.port);
  // A valid pipelined transaction first (PIPELINING is advertised): every reply in order.
  const raw = message();
  client.write(`MAIL FROM:<a@b.test>\r\nRCPT TO:<journal@archive.test>\r\nRCPT TO:<x@archive.test>\r\nDATA\r\n`);
  t.regex(await client.read(), /^250 /);
  t.regex(await client.read(), /^250 /);
  t.regex(await client.read(), /^550 5\.1\.1 /);
  t.regex(await client.read(), /^354 /);
  client.write(Buffer.concat([raw, Buffer.from('.\r\n')]));
  t.regex(await client.read(), /^250 /);
  t.deepEqual(await h.store.readRaw(await sha256(raw)), raw);
  // Then garbage: binary, NULs, bad syntax, unknown verbs, all pipelined in one write.
  const garbage = ['\x00\x01\x02\xff\xfe', 'MAIL FROM:<<<>>>', 'RCPT TO:', 'HELO', 'XYZZY', 'DATA', '\x1b[31m', 'MAIL FROM:<a@b.test> SIZE=abc', ...Array.from({ length: 12 }, (_, i) => `JUNK${i}`)];
  client.write(`${garbage.join('\r\n')}\r\n`);
  const replies: string[] = [];
  try {
    for (;;) replies.push(await client.read());
  } catch {
    // The server hung up (too many unrecognised commands): expected.
  }
  t.true(replies.length > 0);
  t.true(replies.every((reply) => /^[45]\d\d /.test(reply)), replies.join(' | '));
  t.regex(replies.at(-1) ?? '', /^421 /);
  await client.waitClosed();
  await stillServing(t, h);
});

test('a client stalling mid-DATA is disconnected by socketTimeout and nothing is stored', async (t) => {
  const h = await startHarness(t, `smtp:\n  socketTimeout: 1s\n  endpoints:\n    - { address: journal@archive.test, archive: journal }\n`);
  const client = await RawClient.connect(h.port);
  t.regex(await client.read(), /^220 /);
  // One write, so that no pause on the client side counts as the stall.
  client.write('EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<journal@archive.test>\r\nDATA\r\nSubject: half a message\r\n\r\nand then nothing');
  t.regex(await client.read(), /^250[ -]/);
  t.regex(await client.read(), /^250 /);
  t.regex(await client.read(), /^250 /);
  t.regex(await client.read(), /^354 /);
  // The server must close the connection (a 421 may precede it).
  await client.waitClosed();
  t.is(await h.messageCount(), 0);
  await stillServing(t, h);
});

test('1,000 RCPT TO are accepted with maxRecipients 1000; the 1,001st gets 452 4.5.3', async (t) => {
  const h = await startHarness(
    t,
    'smtp:\n  endpoints:\n    - { address: journal@archive.test, archive: journal, acceptAnyRecipient: true, maxRecipients: 1000 }\n',
  );
  const { client } = await greet(h.port);
  t.regex(await client.command('MAIL FROM:<a@b.test>'), /^250 /);
  const commands = ['RCPT TO:<journal@archive.test>', ...Array.from({ length: 999 }, (_, i) => `RCPT TO:<user${i}@example.net>`)];
  client.write(`${commands.join('\r\n')}\r\n`);
  const replies: string[] = [];
  for (let i = 0; i < commands.length; i++) replies.push(await client.read());
  t.is(replies.filter((reply) => reply.startsWith('250 ')).length, 1000);
  t.is(await client.command('RCPT TO:<one-too-many@example.net>'), '452 4.5.3 Too many recipients');
  // A repeated recipient is not a new one.
  t.regex(await client.command('RCPT TO:<USER5@example.net>'), /^250 /);
  t.regex(await client.command('DATA'), /^354 /);
  const raw = message({ to: 'bob@example.com' });
  t.regex(await client.command(`${raw.toString('latin1')}.`), /^250 /);
  t.deepEqual(await h.placesOf(await sha256(raw)), ['bob/Inbox', 'journal/Inbox']);
  client.destroy();
  await stillServing(t, h);
});

test('stop() lets a message being received finish, hangs up idle clients and resolves', async (t) => {
  const h = await startHarness(t, ENDPOINT);
  const idle = await greet(h.port);
  const busy = await greet(h.port);
  t.regex(await busy.client.command('MAIL FROM:<a@b.test>'), /^250 /);
  t.regex(await busy.client.command('RCPT TO:<journal@archive.test>'), /^250 /);
  t.regex(await busy.client.command('DATA'), /^354 /);
  const raw = message();
  busy.client.write(raw.subarray(0, 40));
  const stopping = h.smtp.stop();
  // The idle client is told and disconnected; the one mid-DATA completes its message.
  t.regex(await idle.client.read(), /^421 /);
  await idle.client.waitClosed();
  busy.client.write(Buffer.concat([raw.subarray(40), Buffer.from('.\r\n')]));
  t.regex(await busy.client.read(), /^250 /);
  await busy.client.waitClosed();
  await stopping;
  t.deepEqual(await h.store.readRaw(await sha256(raw)), raw);
  // No longer listening.
  await t.throwsAsync(RawClient.connect(h.port));
});
