// The POP3 client against a real Dovecot (test/integration/dovecot/harness.ts): plain, STLS and
// implicit TLS logins, certificate checks, byte-exact UIDL/LIST/RETR, DELE with QUIT and without,
// and the failure kinds (auth, tls, connect, timeout, closed) with fake servers and a drop proxy.
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import test from 'ava';
import { connectPop3, Pop3Error, type Pop3Client, type Pop3ConnectOptions } from '../../../src/connectors/pop3/client.js';
import { startDropProxy } from '../dovecot/drop-proxy.js';
import { startDovecot, type Dovecot } from '../dovecot/harness.js';

const USERS = ['plain', 'stls', 'tls', 'exact', 'dele', 'keep', 'cut', 'broken', 'piped'];
let dovecot: Dovecot;

test.before(async () => {
  dovecot = await startDovecot({ users: USERS, password: 'pop secret' });
});

test.after.always(async () => {
  await dovecot?.stop();
});

function options(user: string, over: Partial<Pop3ConnectOptions> = {}): Pop3ConnectOptions {
  return {
    host: dovecot.host,
    port: dovecot.ports.pop3s,
    security: 'tls',
    ignoreCertificateErrors: true,
    user,
    password: dovecot.password,
    timeoutMs: 5000,
    ...over,
  };
}

async function withClient<T>(opts: Pop3ConnectOptions, run: (client: Pop3Client) => Promise<T>): Promise<T> {
  const client = await connectPop3(opts);
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

async function pop3Error(t: { fail(message: string): void }, promise: Promise<unknown>): Promise<Pop3Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Pop3Error) return err;
    throw err;
  }
  t.fail('expected a Pop3Error');
  throw new Error('unreachable');
}

/** A TCP server on 127.0.0.1 whose connections are handed to `onConnection`; closed at teardown. */
async function fakeServer(t: { teardown(fn: () => void): void }, onConnection: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

test('plain login with USER/PASS and with SASL PLAIN', async (t) => {
  t.timeout(10_000);
  await dovecot.append('plain', 'INBOX', 'Subject: a\r\n\r\nbody\r\n');
  for (const login of ['user-pass', 'sasl-plain', 'auto'] as const) {
    await withClient(options('plain', { security: 'none', port: dovecot.ports.pop3, login }), async (client) => {
      t.deepEqual(await client.stat(), { count: 1, size: 20 }, login);
      t.true(client.pipelining);
    });
  }
  t.regex(dovecot.logTail(40), /pop3-login: Info: Login: user=<plain>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, secured/);
});

test('STLS and implicit TLS logins; the self-signed certificate is refused unless ignored', async (t) => {
  t.timeout(10_000);
  await withClient(options('stls', { security: 'starttls', port: dovecot.ports.pop3 }), async (client) => {
    t.deepEqual(await client.list(), []);
    t.true((await client.capabilities()).includes('UIDL'));
  });
  t.regex(dovecot.logTail(40), /Login: user=<stls>, method=PLAIN, .*, TLS, session=/);
  await withClient(options('tls'), async (client) => {
    t.deepEqual(await client.uidl(), []);
  });

  for (const over of [{ security: 'starttls', port: dovecot.ports.pop3 }, { security: 'tls', port: dovecot.ports.pop3s }] as const) {
    const err = await pop3Error(t, connectPop3(options('tls', { ...over, ignoreCertificateErrors: false })));
    t.is(err.kind, 'tls', err.message);
    t.regex(err.message, new RegExp(`^pop3 127\\.0\\.0\\.1:${over.port}: TLS handshake failed: .*certificate.*ignoreCertificateErrors`));
  }
});

test('a wrong password is kind auth, and the password appears nowhere', async (t) => {
  t.timeout(10_000);
  for (const login of ['user-pass', 'sasl-plain'] as const) {
    const err = await pop3Error(t, connectPop3(options('plain', { password: 'wrong horse', login })));
    t.is(err.kind, 'auth');
    t.is(err.message, `pop3 127.0.0.1:${dovecot.ports.pop3s}: login failed: -ERR [AUTH] Authentication failed.`);
    t.is(err.command, login === 'user-pass' ? 'PASS' : 'AUTH PLAIN');
    t.false(JSON.stringify({ ...err, message: err.message, stack: err.stack }).includes('wrong horse'));
    t.false(JSON.stringify({ ...err, message: err.message, stack: err.stack }).includes(Buffer.from('\0plain\0wrong horse').toString('base64')));
  }
});

test('UIDL, LIST and RETR are byte-exact: dots, 8-bit bytes, a 5 MB message', async (t) => {
  t.timeout(20_000);
  const dots = Buffer.from('Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n...three\r\n. space\r\nend\r\n.');
  const eightBit = Buffer.concat([Buffer.from('Subject: 8bit\r\nContent-Type: text/plain; charset=latin1\r\n\r\n'), Buffer.from([0xe9, 0xe8, 0xff, 0x80, 0x01, 0x7f]), Buffer.from('\r\n')]);
  const line = Buffer.from('.'.padEnd(998, 'y') + '\r\n');
  const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), ...Array.from({ length: 5000 }, () => line)]);
  t.true(big.length > 5_000_000);
  for (const raw of [dots, eightBit, big]) await dovecot.append('exact', 'INBOX', raw);
  const source = await dovecot.messages('exact', 'INBOX');
  const validity = await dovecot.uidValidity('exact', 'INBOX');

  await withClient(options('exact'), async (client) => {
    const uidl = await client.uidl();
    // Dovecot's pop3_uidl_format %08Xu%08Xv: UID and UIDVALIDITY in (lowercase) hex.
    const hex = (n: number | bigint): string => n.toString(16).padStart(8, '0');
    t.deepEqual(
      uidl,
      source.map((message, i) => ({ number: i + 1, uid: `${hex(message.uid)}${hex(validity)}` })),
    );
    t.deepEqual(
      await client.list(),
      source.map((message, i) => ({ number: i + 1, size: message.raw.length })),
    );
    const started = Date.now();
    const bodies = [await client.retrieve(1), await client.retrieve(2), await client.retrieve(3)];
    t.log(`RETR of ${bodies.map((body) => body.length).join(' + ')} bytes took ${Date.now() - started} ms`);
    // The server ends the last line with CRLF (RFC 1939); IMAP gives the stored bytes.
    t.true(bodies[0]?.equals(Buffer.concat([dots, Buffer.from('\r\n')])));
    t.true(source[0]?.raw.equals(dots));
    t.true(bodies[1]?.equals(eightBit));
    t.true(bodies[2]?.equals(big));
    t.true(source[2]?.raw.equals(big));
  });
});

test('DELE then QUIT removes the message; DELE then close() does not', async (t) => {
  t.timeout(10_000);
  for (const user of ['dele', 'keep']) {
    await dovecot.append(user, 'INBOX', 'Subject: one\r\n\r\n1\r\n');
    await dovecot.append(user, 'INBOX', 'Subject: two\r\n\r\n2\r\n');
  }
  const dele = await connectPop3(options('dele'));
  await dele.delete(1);
  await t.throwsAsync(dele.retrieve(1), { instanceOf: Pop3Error, message: /RETR 1 failed: -ERR Message is deleted\./ });
  await dele.quit();
  t.false(dele.usable);
  t.deepEqual(
    (await dovecot.messages('dele', 'INBOX')).map((m) => m.raw.toString()),
    ['Subject: two\r\n\r\n2\r\n'],
  );
  const err = await pop3Error(t, dele.noop());
  t.is(err.kind, 'closed');

  const keep = await connectPop3(options('keep'));
  await keep.delete(1);
  keep.close();
  t.false(keep.usable);
  await t.throwsAsync(keep.list(), { instanceOf: Pop3Error, message: /cannot send LIST/ });
  t.is((await dovecot.messages('keep', 'INBOX')).length, 2);
});

test('a message the server cannot read fails that RETR (kind command); the session goes on', async (t) => {
  t.timeout(10_000);
  const first = await dovecot.append('broken', 'INBOX', 'Subject: one\r\n\r\n1\r\n');
  await dovecot.append('broken', 'INBOX', 'Subject: two\r\n\r\n2\r\n');
  await dovecot.breakMessage('broken', 'INBOX', first);
  await withClient(options('broken'), async (client) => {
    const err = await pop3Error(t, client.retrieve(1));
    t.is(err.kind, 'command');
    t.is(err.response, '-ERR Message 1 expunged.');
    t.is((await client.retrieve(2)).toString(), 'Subject: two\r\n\r\n2\r\n');
  });
});

test('pipelined commands are answered in order', async (t) => {
  t.timeout(10_000);
  for (let i = 1; i <= 5; i++) await dovecot.append('piped', 'INBOX', `Subject: ${i}\r\n\r\n${'x'.repeat(i * 1000)}\r\n`);
  await withClient(options('piped'), async (client) => {
    t.true(client.pipelining);
    const [list, ...bodies] = await Promise.all([client.list(), client.retrieve(1), client.retrieve(2), client.retrieve(3), client.retrieve(4), client.retrieve(5)]);
    t.is(list.length, 5);
    bodies.forEach((body, i) => t.true(body.toString().startsWith(`Subject: ${i + 1}\r\n`)));
    const results = await Promise.allSettled([client.retrieve(9), client.noop()]);
    t.is(results[0].status, 'rejected');
    t.is(results[1].status, 'fulfilled');
  });
});

test('an unreachable port is kind connect', async (t) => {
  t.timeout(10_000);
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  for (const security of ['none', 'tls'] as const) {
    const err = await pop3Error(t, connectPop3(options('plain', { port, security })));
    t.is(err.kind, 'connect');
    t.is(err.message, `pop3 127.0.0.1:${port}: cannot connect (ECONNREFUSED)`);
  }
  const dns = await pop3Error(t, connectPop3(options('plain', { host: 'no-such-host.invalid', port: 110 })));
  t.is(dns.kind, 'connect');
});

test('a server that never answers is kind timeout, quickly', async (t) => {
  t.timeout(10_000);
  const port = await fakeServer(t, () => undefined);
  const started = Date.now();
  const err = await pop3Error(t, connectPop3(options('plain', { port, security: 'none', timeoutMs: 300 })));
  t.is(err.kind, 'timeout');
  t.is(err.message, `pop3 127.0.0.1:${port}: no answer within 300 ms during greeting`);
  t.true(Date.now() - started < 2000);

  // Silent after the greeting, in the middle of a command.
  const later = await fakeServer(t, (socket) => {
    socket.write('+OK hi\r\n');
    socket.on('data', (data: Buffer) => {
      if (data.toString().startsWith('CAPA')) socket.write('+OK\r\nUIDL\r\n.\r\n');
      else if (!data.toString().startsWith('RETR')) socket.write('+OK\r\n');
    });
  });
  const client = await connectPop3(options('plain', { port: later, security: 'none', timeoutMs: 300 }));
  const retr = await pop3Error(t, client.retrieve(1));
  t.is(retr.kind, 'timeout');
  t.is(retr.command, 'RETR 1');
  t.false(client.usable);
});

test('starttls against a server without STLS refuses to log in', async (t) => {
  t.timeout(10_000);
  const received: string[] = [];
  const port = await fakeServer(t, (socket) => {
    socket.write('+OK fake\r\n');
    socket.on('data', (data: Buffer) => {
      received.push(data.toString());
      socket.write(data.toString().startsWith('CAPA') ? '+OK\r\nUSER\r\nUIDL\r\n.\r\n' : '+OK\r\n');
    });
  });
  const err = await pop3Error(t, connectPop3(options('plain', { port, security: 'starttls' })));
  t.is(err.kind, 'tls');
  t.regex(err.message, /does not offer STLS/);
  t.deepEqual(received, ['CAPA\r\n']);

  // Plaintext sent after the STLS answer would be read as if it came over TLS (RFC 2595 section
  // 3.1's injection): the session is dropped, nothing is sent after STLS.
  const injected: string[] = [];
  const injecting = await fakeServer(t, (socket) => {
    socket.write('+OK fake\r\n');
    socket.on('data', (data: Buffer) => {
      injected.push(data.toString());
      if (data.toString().startsWith('CAPA')) socket.write('+OK\r\nSTLS\r\n.\r\n');
      else socket.write('+OK go ahead\r\n+OK injected\r\n');
    });
  });
  const injection = await pop3Error(t, connectPop3(options('plain', { port: injecting, security: 'starttls' })));
  // One write on loopback arrives as one chunk (kind protocol); were it split, the injected bytes
  // would reach the TLS handshake instead and fail it (kind tls). Either way: no login.
  if (injection.kind === 'protocol') t.regex(injection.message, /STLS: unexpected data from the server: \+OK injected/);
  else t.is(injection.kind, 'tls');
  t.deepEqual(injected, ['CAPA\r\n', 'STLS\r\n']);
});

test('garbage from the server is kind protocol; a server that hangs up is kind closed', async (t) => {
  t.timeout(10_000);
  const imapLike = await fakeServer(t, (socket) => socket.write('* OK IMAP4rev1 ready\r\n'));
  const err = await pop3Error(t, connectPop3(options('plain', { port: imapLike, security: 'none' })));
  t.is(err.kind, 'protocol');
  t.regex(err.message, /malformed response: \* OK IMAP4rev1 ready during greeting/);

  const hangUp = await fakeServer(t, (socket) => socket.end());
  const closed = await pop3Error(t, connectPop3(options('plain', { port: hangUp, security: 'none' })));
  t.is(closed.kind, 'closed');
  t.is(closed.message, `pop3 127.0.0.1:${hangUp}: connection closed by the server during greeting`);
});

test('a connection dropped mid-RETR is kind closed', async (t) => {
  t.timeout(10_000);
  await dovecot.append('cut', 'INBOX', Buffer.concat([Buffer.from('Subject: long\r\n\r\n'), Buffer.alloc(200_000, 'z\r\n')]));
  const proxy = await startDropProxy({ port: dovecot.ports.pop3 });
  t.teardown(() => proxy.close());
  const client = await connectPop3(options('cut', { security: 'none', port: proxy.port }));
  t.is((await client.list()).length, 1);
  proxy.cutAfter(50_000);
  const err = await pop3Error(t, client.retrieve(1));
  t.is(err.kind, 'closed');
  t.is(err.command, 'RETR 1');
  t.regex(err.message, new RegExp(`^pop3 127\\.0\\.0\\.1:${proxy.port}: connection closed by the server during RETR 1 \\(after 50000 bytes of the answer\\)$`));
  t.false(client.usable);
  const next = await pop3Error(t, client.retrieve(1));
  t.is(next.kind, 'closed');
  t.regex(next.message, /cannot send RETR 1: the connection is no longer usable \(connection closed by the server during RETR 1\)/);
  // Nothing was deleted or lost on the server.
  t.is((await dovecot.messages('cut', 'INBOX')).length, 1);
});
