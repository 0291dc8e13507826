// The analyzer derives metadata at ingest and must never throw: hostile input becomes a flagged
// record. ENVELOPE/BODYSTRUCTURE come from imap-core, so they match what IMAP FETCH serves.
import { createHash } from 'node:crypto';
import test from 'ava';
import { analyzeMessage } from '../../../src/mime/analyze.js';
import { viewEnvelope } from '../../../src/mime/envelope-view.js';
import { message } from '../helpers.js';

test('a clean message yields hash, decoded fields, dates and no problems', (t) => {
  const raw = message({
    from: '=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <Juergen@Example.COM>',
    to: 'bob@example.org, "Carol" <carol@example.net>',
    subject: '=?utf-8?b?R3LDvMOfZQ==?=',
    extra: 'Cc: dave@example.org\r\nBcc: eve@example.org\r\nReceived: from mx by mx2; Tue, 02 Jan 2024 08:00:00 +0100\r\nX-Priority: 1 (Highest)',
  });
  const { sha, meta, addresses } = analyzeMessage(raw);
  t.deepEqual(sha, createHash('sha256').update(raw).digest());
  t.deepEqual(meta.problems, []);
  t.is(meta.size, raw.length);
  t.is(meta.date, Date.parse('2024-01-01T10:00:00Z'));
  t.is(meta.receivedAt, Date.parse('2024-01-02T07:00:00Z'));
  t.is(meta.priority, 1);
  t.deepEqual(addresses.from, ['juergen@example.com']);
  t.deepEqual(addresses.to, ['bob@example.org', 'carol@example.net']);
  t.deepEqual(addresses.cc, ['dave@example.org']);
  t.deepEqual(addresses.bcc, ['eve@example.org']);
  const envelope = viewEnvelope(meta.envelope);
  t.is(envelope.subject, 'Grüße');
  t.deepEqual(envelope.from, [{ name: 'Jürgen Müller', address: 'Juergen@Example.COM' }]);
  t.is(meta.bodystructure[0], 'TEXT');
});

test('priority from Importance and X-MSMail-Priority words', (t) => {
  t.is(analyzeMessage(message({ extra: 'Importance: low' })).meta.priority, 5);
  t.is(analyzeMessage(message({ extra: 'X-MSMail-Priority: High' })).meta.priority, 1);
  t.is(analyzeMessage(message()).meta.priority, 3);
});

test('attachments are listed with decoded names; the body part is not an attachment', (t) => {
  const raw = Buffer.from(
    [
      'From: a@example.com',
      'Subject: report',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'See attached.',
      '--b1',
      'Content-Type: application/pdf; name="=?utf-8?q?Bericht_M=C3=A4rz.pdf?="',
      'Content-Disposition: attachment; filename="=?utf-8?q?Bericht_M=C3=A4rz.pdf?="',
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQK',
      '--b1',
      'Content-Type: image/png',
      'Content-Disposition: inline',
      '',
      'xx',
      '--b1--',
      '',
    ].join('\r\n'),
  );
  const { meta } = analyzeMessage(raw);
  t.deepEqual(meta.problems, []);
  t.deepEqual(meta.attachments.map((a) => [a.name, a.contentType]), [
    ['Bericht März.pdf', 'application/pdf'],
    [null, 'image/png'],
  ]);
});

const hostile: [string, Buffer, RegExp][] = [
  ['empty input', Buffer.alloc(0), /empty/],
  ['binary garbage', Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 10, 13, 0, 9]), /no header section/],
  ['text without headers', Buffer.from('just some words\nand more\n'), /no header section/],
  ['latin-1 header bytes', Buffer.from('Subject: caf\xe9\r\nFrom: a@b.c\r\n\r\nx', 'latin1'), /8-bit header bytes/],
  ['a 1 MB header line', Buffer.concat([Buffer.from('Subject: '), Buffer.alloc(1 << 20, 'a'), Buffer.from('\r\n\r\nbody')]), /longer than 998/],
  ['a boundary that never appears', Buffer.from('Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts\r\n'), /boundary never appears/],
  ['multipart without boundary', Buffer.from('Content-Type: multipart/mixed\r\n\r\nno parts\r\n'), /without a boundary/],
];

for (const [name, raw, problem] of hostile) {
  test(`${name} is analyzed without throwing and flagged`, (t) => {
    const { sha, meta } = analyzeMessage(raw);
    t.deepEqual(sha, createHash('sha256').update(raw).digest());
    t.is(meta.size, raw.length);
    t.true(meta.problems.some((p) => problem.test(p)), meta.problems.join('; '));
    t.true(Array.isArray(meta.envelope));
    t.true(Array.isArray(meta.bodystructure));
  });
}

test('UTF-8 headers (RFC 6532) are not flagged', (t) => {
  t.deepEqual(analyzeMessage(Buffer.from('From: a@b.c\r\nSubject: Grüße\r\n\r\nx')).meta.problems, []);
});

/** `levels` multiparts, each the only part of the one above, around one text part. */
function nested(levels: number): Buffer {
  const parts = ['From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: Deep\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n'];
  for (let i = 0; i < levels; i++) parts.push(`Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`);
  parts.push('Content-Type: text/plain\r\n\r\nthe innermost words\r\n');
  return Buffer.from(parts.join(''));
}

const notTakenApart: [string, Buffer, RegExp][] = [
  // 2,000 levels parse, but building their BODYSTRUCTURE overran the stack: the message was refused.
  ['2,000 levels of nested parts', nested(2000), /MIME parts nested deeper than 100 levels/],
  ['5,000 levels of nested parts', nested(5000), /MIME parser failed: Maximum call stack size exceeded|nested deeper than 100 levels/],
  ['4 million empty lines', Buffer.from(`From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: Deep\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\n${'\r\n'.repeat(4_000_000)}`), /would need about \d+ MB of memory/],
  ['200,000 tiny parts', Buffer.from(`From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: Deep\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\n\r\nx\r\n'.repeat(200_000)}--b--\r\n`), /would need about \d+ MB of memory/],
];

for (const [name, raw, reason] of notTakenApart) {
  test(`${name}: the structure is not taken apart, the headers still are`, (t) => {
    const { meta, addresses, tree, wholeTree } = analyzeMessage(raw);
    t.true(meta.problems.some((problem) => problem.startsWith('MIME structure not analysed: ') && reason.test(problem)), meta.problems.join('; '));
    t.false(wholeTree);
    t.is(meta.size, raw.length);
    t.is(meta.date, Date.parse('2024-01-01T10:00:00Z'));
    t.deepEqual(addresses.from, ['ann@example.com']);
    t.deepEqual(addresses.to, ['bob@example.org']);
    t.is(viewEnvelope(meta.envelope).subject, 'Deep');
    const bodyStart = raw.indexOf('\r\n\r\n') + 4;
    t.deepEqual(meta.bodystructure.slice(0, 7), ['TEXT', 'PLAIN', null, null, null, '7BIT', raw.length - bodyStart]);
    t.is(tree?.childNodes, undefined, 'the search index gets the header block alone');
  });
}

test('100 levels of nested parts are still taken apart', (t) => {
  const { meta, wholeTree } = analyzeMessage(nested(100));
  t.true(wholeTree);
  t.false(meta.problems.some((problem) => problem.startsWith('MIME structure not analysed')), meta.problems.join('; '));
  t.is(JSON.stringify(meta.bodystructure).match(/"MIXED"/g)?.length, 100);
});
