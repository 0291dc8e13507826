// The POP3 response parser on hostile and fragmented input: dot-unstuffing, the terminator, exact
// bytes, every chunk boundary, malformed lines, and a 20 MB body in linear time.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { Pop3ParseError, Pop3ResponseParser, type Pop3Response } from '../../../../src/connectors/pop3/client.js';

/** What a server sends for a message: dot-stuffed lines, a final CRLF if missing, then ".CRLF". */
function wire(message: Buffer): Buffer {
  const out: number[] = [];
  let lineStart = true;
  for (const byte of message) {
    if (lineStart && byte === 0x2e) out.push(0x2e);
    out.push(byte);
    lineStart = byte === 0x0a;
  }
  if (!lineStart) out.push(0x0d, 0x0a);
  out.push(0x2e, 0x0d, 0x0a);
  return Buffer.from(out);
}

/** The message as the client gets it back: the line end the server added stays (RFC 1939). */
function expected(message: Buffer): Buffer {
  return message.length === 0 || message[message.length - 1] === 0x0a ? message : Buffer.concat([message, Buffer.from('\r\n')]);
}

function parse(expectations: boolean[], chunks: Buffer[]): Pop3Response[] {
  const responses: Pop3Response[] = [];
  const parser = new Pop3ResponseParser((response) => responses.push(response));
  for (const multiline of expectations) parser.expect(multiline);
  for (const chunk of chunks) parser.push(chunk);
  return responses;
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const TRICKY = Buffer.concat([
  Buffer.from('Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n'),
  Buffer.from('. \r\n.\r.\r\n'),
  Buffer.from([0xe9, 0xff, 0x00, 0x80, 0x0d, 0x0a]),
  Buffer.from('bare\nlf\n.\n..\nend without newline'),
]);

test('single-line and multi-line responses, -ERR without a body', (t) => {
  const stream = Buffer.concat([Buffer.from('+OK POP3 ready\r\n-ERR no such message\r\n-ERR [SYS/TEMP] x\r\n+OK 2 octets\r\n'), wire(Buffer.from('hi\r\n')), Buffer.from('+OK\r\n')]);
  const responses = parse([false, true, false, true, false], [stream]);
  t.deepEqual(
    responses.map((r) => [r.ok, r.status, r.body?.toString('latin1')]),
    [
      [true, '+OK POP3 ready', undefined],
      [false, '-ERR no such message', undefined],
      [false, '-ERR [SYS/TEMP] x', undefined],
      [true, '+OK 2 octets', 'hi\r\n'],
      [true, '+OK', undefined],
    ],
  );
});

test('dot-unstuffing keeps every other byte exactly', (t) => {
  const [response] = parse([true], [Buffer.concat([Buffer.from('+OK\r\n'), wire(TRICKY)])]);
  t.true(response?.body?.equals(expected(TRICKY)));
  const [empty] = parse([true], [Buffer.from('+OK\r\n.\r\n')]);
  t.is(empty?.body?.length, 0);
  // RFC 1939: any line starting with "." loses it, also from servers that only stuff "..".
  const [lenient] = parse([true], [Buffer.from('+OK\r\n.x\r\n..y\r\n.\r\n')]);
  t.is(lenient?.body?.toString(), 'x\r\n.y\r\n');
  // A bare-LF terminator ends the body too.
  const [bare] = parse([true], [Buffer.from('+OK\na\n.\n')]);
  t.is(bare?.body?.toString(), 'a\n');
});

test('every chunk boundary gives the same responses', (t) => {
  const stream = Buffer.concat([Buffer.from('+OK hello\r\n+OK\r\n'), wire(TRICKY), Buffer.from('-ERR nope\r\n+OK\r\n'), wire(Buffer.from('.\r\n..\r\n.'))]);
  const whole = parse([false, true, true, true], [stream]);
  t.is(whole.length, 4);
  for (let cut = 0; cut <= stream.length; cut++) {
    t.deepEqual(parse([false, true, true, true], splitAt(stream, [cut])), whole, `cut at ${cut}`);
  }
  for (let cut = 0; cut + 2 <= stream.length; cut++) {
    t.deepEqual(parse([false, true, true, true], splitAt(stream, [cut, cut + 1, cut + 2])), whole, `cuts at ${cut}..${cut + 2}`);
  }
  // Byte by byte.
  t.deepEqual(
    parse(
      [false, true, true, true],
      [...stream].map((byte) => Buffer.from([byte])),
    ),
    whole,
  );
});

test('random messages split at random places come back exactly', (t) => {
  const alphabet = Buffer.from('..\r\n\r\n a.\xff\x00', 'latin1');
  for (let round = 0; round < 300; round++) {
    const length = Math.floor(Math.random() * 200);
    const noise = randomBytes(length);
    const message = Buffer.from(noise.map((byte) => alphabet[byte % alphabet.length] ?? 0));
    const stream = Buffer.concat([Buffer.from('+OK\r\n'), wire(message), Buffer.from('+OK done\r\n')]);
    const cuts = Array.from({ length: Math.floor(Math.random() * 6) }, () => Math.floor(Math.random() * (stream.length + 1)));
    const responses = parse([true, false], splitAt(stream, cuts));
    t.is(responses.length, 2);
    if (!responses[0]?.body?.equals(expected(message))) {
      t.fail(`round ${round}: ${JSON.stringify(message.toString('latin1'))} cut at ${cuts.join(',')}`);
      return;
    }
    t.is(responses[1]?.status, '+OK done');
  }
});

test('hostile input: malformed status, unsolicited data, endless status line', (t) => {
  t.throws(() => parse([false], [Buffer.from('* OK imap?\r\n')]), { instanceOf: Pop3ParseError, message: /malformed response: \* OK imap\?/ });
  t.throws(() => parse([false], [Buffer.from('+OKAY\r\n')]), { instanceOf: Pop3ParseError });
  t.throws(() => parse([false], [Buffer.from('+OK\r\n+OK extra\r\n')]), { instanceOf: Pop3ParseError, message: /unexpected data/ });
  t.throws(() => parse([], [Buffer.from('+OK\r\n')]), { instanceOf: Pop3ParseError, message: /unexpected data/ });
  t.throws(() => parse([false], [Buffer.alloc(10_000, 0x41)]), { instanceOf: Pop3ParseError, message: /longer than/ });
  // Responses completed before the bad bytes were delivered.
  const seen: Pop3Response[] = [];
  const parser = new Pop3ResponseParser((r) => seen.push(r));
  parser.expect(false);
  t.throws(() => parser.push(Buffer.from('+OK one\r\nsurprise')));
  t.is(seen.length, 1);
  // Control characters in the server's text do not reach error messages raw.
  t.throws(() => parse([false], [Buffer.from('\x1b[31mred\r\n')]), { message: /^malformed response: \?\[31mred$/ });
});

test('a 20 MB body in 64 KiB chunks parses in linear time', (t) => {
  const line = Buffer.from('.'.padEnd(76, 'x') + '\r\n');
  const message = Buffer.concat(Array.from({ length: Math.ceil((20 * 1024 * 1024) / line.length) }, () => line));
  const stream = Buffer.concat([Buffer.from('+OK\r\n'), wire(message)]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 65536) chunks.push(stream.subarray(i, i + 65536));
  const started = process.hrtime.bigint();
  const [response] = parse([true], chunks);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.true(response?.body?.equals(message));
  t.true(ms < 2000, `took ${ms} ms`);
  t.log(`20 MB (every line dot-stuffed) parsed in ${Math.round(ms)} ms`);
});
