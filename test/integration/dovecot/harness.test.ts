// Sanity checks of the Dovecot harness itself: what the connector tests rely on (byte-exact
// messages, SPECIAL-USE, master login, the four listeners, UIDVALIDITY reset, a broken message,
// the drop proxy) really behaves as documented in harness.ts.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import test from 'ava';
import { ImapFlow } from 'imapflow';
import { startDropProxy } from './drop-proxy.js';
import { BROKEN_FETCH_BYE, startDovecot, type Dovecot } from './harness.js';

const MASTER = { name: 'archiver', password: 'master secret' };
let dovecot: Dovecot;

test.before(async () => {
  dovecot = await startDovecot({ users: ['alice', 'bob', 'carol', 'dave', 'erin'], master: MASTER });
});

test.after.always(async () => {
  await dovecot?.stop();
});

function imap(user: string, options: { pass?: string; authzid?: string } = {}): ImapFlow {
  return new ImapFlow({
    host: dovecot.host,
    port: dovecot.ports.imaps,
    secure: true,
    tls: { rejectUnauthorized: false },
    auth: options.authzid
      ? { user, pass: options.pass ?? '', authzid: options.authzid, loginMethod: 'AUTH=PLAIN' }
      : { user, pass: options.pass ?? dovecot.password },
    logger: false,
    disableAutoIdle: true,
  });
}

/** A line-oriented plain-text session: send() resolves with everything received until `until` matches or the server closes. */
async function rawSession(port: number): Promise<{ socket: Socket; send(line: string | undefined, until: RegExp): Promise<string> }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setTimeout(5000, () => socket.destroy());
  let buffered = '';
  let closed = false;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return {
    socket,
    async send(line, until) {
      if (line !== undefined) socket.write(`${line}\r\n`);
      while (!until.test(buffered) && !closed) await new Promise<void>((resolve) => (wake = resolve));
      const out = buffered;
      buffered = '';
      return out;
    },
  };
}

test('messages come back byte-exact (CRLF kept, bare LF becomes CRLF), with flags and internal date', async (t) => {
  t.timeout(10_000);
  const crlf = Buffer.concat([Buffer.from('Subject: =?utf-8?q?caf=C3=A9?=\r\nFrom: a@example.com\r\n\r\n8-bit: '), Buffer.from([0xe9, 0xff, 0x80]), Buffer.from('\r\n..dot\r\n.\r\nend\r\n')]);
  const bareLf = Buffer.concat([Buffer.from('Subject: lf\n\nline one\n'), Buffer.from([0xc3, 0xa9]), Buffer.from('\nno final newline')]);
  const date = new Date('2021-06-07T08:09:10Z');
  const uid1 = await dovecot.append('alice', 'INBOX', crlf, { flags: ['\\Seen', '$Label1'], internalDate: date });
  const uid2 = await dovecot.append('alice', 'INBOX', bareLf);
  t.true(uid2 > uid1);
  const messages = await dovecot.messages('alice', 'INBOX');
  t.deepEqual(
    messages.map((m) => m.uid),
    [uid1, uid2],
  );
  t.true(messages[0]?.raw.equals(crlf));
  t.deepEqual(messages[0]?.flags, ['$Label1', '\\Seen']);
  t.is(messages[0]?.internalDate.getTime(), date.getTime());
  t.true(messages[1]?.raw.equals(Buffer.from(bareLf.toString('latin1').replace(/\n/g, '\r\n'), 'latin1')));
  t.deepEqual(messages[1]?.flags, []);
});

test('folders: nested create, move, set flags', async (t) => {
  t.timeout(10_000);
  const uid = await dovecot.append('erin', 'Projects/2024/Q1', 'Subject: nested\r\n\r\nx\r\n');
  t.is(uid, 1);
  await dovecot.createFolder('erin', 'Empty/Child');
  t.deepEqual(await dovecot.messages('erin', 'Empty/Child'), []);
  const moved = await dovecot.move('erin', 'Projects/2024/Q1', uid, 'Archive');
  t.is(moved, 1);
  t.deepEqual(await dovecot.messages('erin', 'Projects/2024/Q1'), []);
  await dovecot.setFlags('erin', 'Archive', moved, ['\\Flagged', '\\Answered']);
  const [message] = await dovecot.messages('erin', 'Archive');
  t.deepEqual(message?.flags, ['\\Answered', '\\Flagged']);
});

test('LIST carries SPECIAL-USE flags; specialUse: false leaves them out', async (t) => {
  t.timeout(10_000);
  const client = imap('bob');
  await client.connect();
  const boxes = await client.list();
  await client.logout();
  const special = Object.fromEntries(boxes.map((box) => [box.path, box.flags.has(box.specialUse ?? '') && box.specialUseSource === 'extension' ? box.specialUse : undefined]));
  t.like(special, { INBOX: undefined, Sent: '\\Sent', Drafts: '\\Drafts', Trash: '\\Trash', Junk: '\\Junk' });

  const plain = await startDovecot({ users: ['bob'], specialUse: false });
  try {
    const other = new ImapFlow({ host: plain.host, port: plain.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'bob', pass: plain.password }, logger: false, disableAutoIdle: true });
    await other.connect();
    const plainBoxes = await other.list();
    await other.logout();
    t.deepEqual(plainBoxes.map((box) => box.path).sort(), ['Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    for (const box of plainBoxes) {
      t.false([...box.flags].some((flag) => ['\\Sent', '\\Drafts', '\\Trash', '\\Junk'].includes(flag)), box.path);
      t.not(box.specialUseSource, 'extension');
    }
  } finally {
    await plain.stop();
  }
});

test('a master user logs in as another user with SASL PLAIN authzid', async (t) => {
  t.timeout(10_000);
  await dovecot.append('carol', 'INBOX', 'Subject: for carol\r\n\r\nhi\r\n');
  const client = imap(MASTER.name, { pass: MASTER.password, authzid: 'carol' });
  await client.connect();
  const box = await client.mailboxOpen('INBOX');
  t.is(box.exists, 1);
  const message = await client.fetchOne('1', { envelope: true });
  t.is(message && message.envelope?.subject, 'for carol');
  await client.logout();

  const wrong = imap(MASTER.name, { pass: 'wrong', authzid: 'carol' });
  await t.throwsAsync(wrong.connect());
  wrong.close();
  // The master user is not a mailbox user by itself.
  const alone = imap(MASTER.name, { pass: MASTER.password });
  await t.throwsAsync(alone.connect());
  alone.close();
});

test('the four listeners answer: IMAP and POP3 offer STARTTLS/STLS, IMAPS and POP3S greet over TLS', async (t) => {
  t.timeout(10_000);
  const imapPlain = await rawSession(dovecot.ports.imap);
  t.regex(await imapPlain.send(undefined, /\r\n/), /^\* OK \[CAPABILITY [^\]]*STARTTLS/);
  imapPlain.socket.destroy();

  const pop3 = await rawSession(dovecot.ports.pop3);
  t.regex(await pop3.send(undefined, /\r\n/), /^\+OK/);
  t.regex(await pop3.send('CAPA', /\r\n\.\r\n/), /\r\nSTLS\r\n[\s\S]*SASL PLAIN/);
  t.regex(await pop3.send('USER dave', /\r\n/), /^\+OK/);
  t.regex(await pop3.send(`PASS ${dovecot.password}`, /\r\n/), /^\+OK Logged in/);
  pop3.socket.destroy();

  for (const port of [dovecot.ports.pop3s, dovecot.ports.imaps]) {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.on('error', () => undefined);
    const [greeting] = (await once(socket, 'data')) as [Buffer];
    t.regex(greeting.toString(), port === dovecot.ports.pop3s ? /^\+OK / : /^\* OK /);
    socket.destroy();
  }
});

test('resetUidValidity gives the folder a new UIDVALIDITY and renumbers its messages from 1', async (t) => {
  t.timeout(10_000);
  for (let i = 1; i <= 3; i++) await dovecot.append('dave', 'Sent', `Subject: ${i}\r\n\r\nbody ${i}\r\n`, { flags: i === 2 ? ['\\Seen'] : [] });
  const before = await dovecot.messages('dave', 'Sent');
  await dovecot.move('dave', 'Sent', before[0]?.uid ?? 0, 'Trash');
  const validity = await dovecot.uidValidity('dave', 'Sent');

  // A client that has the folder selected notices too (Dovecot may end its session).
  const client = imap('dave');
  await client.connect();
  t.is((await client.mailboxOpen('Sent')).uidValidity, validity);

  await dovecot.resetUidValidity('dave', 'Sent');
  t.not(await dovecot.uidValidity('dave', 'Sent'), validity);
  const after = await dovecot.messages('dave', 'Sent');
  t.deepEqual(
    after.map((m) => [m.uid, m.raw.toString(), m.flags]),
    [
      [1, before[1]?.raw.toString(), ['\\Seen']],
      [2, before[2]?.raw.toString(), []],
    ],
  );
  client.close();
});

test('breakMessage: the body FETCH gets BYE, POP3 RETR gets -ERR, the message stays listed', async (t) => {
  t.timeout(10_000);
  const raws = ['Subject: one\r\n\r\n1\r\n', 'Subject: two\r\n\r\n2\r\n', 'Subject: three\r\n\r\n3\r\n'];
  const uids: number[] = [];
  for (const raw of raws) uids.push(await dovecot.append('alice', 'Broken', raw));
  await dovecot.breakMessage('alice', 'Broken', uids[1] ?? 0);

  const session = await rawSession(dovecot.ports.imap);
  await session.send(undefined, /\r\n/);
  t.regex(await session.send(`a LOGIN alice ${dovecot.password}`, /^a /m), /^a OK/m);
  t.regex(await session.send('b SELECT Broken', /^b /m), /\* 3 EXISTS/);
  t.regex(await session.send(`c UID FETCH ${uids[1]} (UID FLAGS RFC822.SIZE)`, /^c /m), /RFC822\.SIZE 19\)\r\nc OK/);
  const answer = await session.send(`d UID FETCH 1:* (BODY.PEEK[])`, /^d /m);
  const lines = answer.split('\r\n');
  t.regex(answer, /^\* 1 FETCH \(UID 1 BODY\[\] \{19\}\r\nSubject: one/);
  t.true(lines.includes(`* 2 FETCH (UID ${uids[1]})`), answer);
  t.true(lines.some((line) => BROKEN_FETCH_BYE.test(line)), answer);
  t.false(/^d /m.test(answer), 'no tagged answer');
  t.true(session.socket.destroyed || session.socket.readableEnded, 'Dovecot closed the connection');
  session.socket.destroy();

  const uid = await dovecot.append('bob', 'INBOX', raws[0] ?? '');
  await dovecot.append('bob', 'INBOX', raws[2] ?? '');
  await dovecot.breakMessage('bob', 'INBOX', uid);
  const bob = await rawSession(dovecot.ports.pop3);
  await bob.send(undefined, /\r\n/);
  await bob.send('USER bob', /\r\n/);
  t.regex(await bob.send(`PASS ${dovecot.password}`, /\r\n/), /^\+OK/);
  t.regex(await bob.send('LIST', /\r\n\.\r\n/), /^\+OK 2 messages:\r\n1 19\r\n2 21\r\n\.\r\n$/);
  t.is(await bob.send('RETR 1', /\r\n/), '-ERR Message 1 expunged.\r\n');
  t.is(await bob.send('RETR 2', /\r\n\.\r\n/), `+OK 21 octets\r\n${raws[2] ?? ''}.\r\n`);
  t.regex(await bob.send('QUIT', /\r\n/), /^\+OK/);
  bob.socket.destroy();
  // The harness's own reading fails the same way: messages() of that folder rejects.
  await t.throwsAsync(dovecot.messages('alice', 'Broken'), { message: /messages of Broken for alice failed/ });
});

test('the drop proxy forwards, then cuts a connection after exactly n server bytes', async (t) => {
  t.timeout(10_000);
  const proxy = await startDropProxy({ port: dovecot.ports.pop3 });
  try {
    const first = await rawSession(proxy.port);
    t.regex(await first.send(undefined, /\r\n/), /^\+OK/);
    t.regex(await first.send('CAPA', /\r\n\.\r\n/), /\r\nUIDL\r\n/);
    proxy.cutAfter(10);
    const cut = await first.send('CAPA', /(?!)/);
    t.is(cut, '+OK\r\nCAPA\r');
    t.true(first.socket.destroyed || first.socket.readableEnded);
    first.socket.destroy();

    // Armed with no open connection: applies to the next one, counted from its first byte.
    proxy.cutAfter(3);
    const second = await rawSession(proxy.port);
    t.is(await second.send(undefined, /(?!)/), '+OK');
    second.socket.destroy();
    t.is(proxy.connections, 2);
  } finally {
    await proxy.close();
  }
});
