// unwrapJournalMessage against hand-written Exchange journal reports and NDRs (test/fixtures/journal):
// the original must come back byte for byte, the envelope must credit every recipient (Bcc, expanded
// and forwarded ones too), and anything malformed or hostile must be archived whole, quickly.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { decodeQuotedPrintable, parseReport, unwrapJournalMessage, type JournalUnwrap } from '../../../src/ingest/journal-report.js';
import { message } from '../helpers.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/journal/${name}`, import.meta.url));

function asReport(t: { fail(message: string): void }, result: JournalUnwrap): Extract<JournalUnwrap, { kind: 'journal-report' }> | undefined {
  if (result.kind === 'journal-report') return result;
  t.fail(`expected a journal report, got ${result.kind}`);
  return undefined;
}

test('Exchange envelope journal report: exact original, every recipient credited, lowercased, deduplicated', (t) => {
  const result = asReport(t, unwrapJournalMessage(fixture('exchange-report.eml')));
  if (!result) return;
  const original = fixture('exchange-report.original.eml');
  t.true(result.original.equals(original), 'original bytes differ');
  // The original's own delimiters and look-alike lines of the outer boundary stay inside it.
  t.true(result.original.includes('------=_Journal_b1--not a close delimiter either'));
  t.is(result.envelope.sender, 'alice@example.com');
  t.deepEqual(result.envelope.recipients, [
    'bob@example.org',
    'carol@example.org',
    'dave@example.org',
    'erin@example.org',
    'team@example.org',
    'frank@example.org',
    'frank.home@example.net',
  ]);
});

test('base64 report part with a UTF-8 subject; LF-only original returned with its LF endings', (t) => {
  const result = asReport(t, unwrapJournalMessage(fixture('report-base64.eml')));
  if (!result) return;
  t.true(result.original.equals(fixture('report-base64.original.eml')));
  t.false(result.original.includes('\r'));
  t.deepEqual(result.envelope, { sender: 'gina@example.com', recipients: ['hank@example.org', 'ivy@example.org'] });
});

test('base64-encoded original is decoded byte for byte; quoted-printable report with soft line breaks', (t) => {
  const result = asReport(t, unwrapJournalMessage(fixture('original-base64.eml')));
  if (!result) return;
  t.true(result.original.equals(fixture('original-base64.original.eml')));
  t.deepEqual(result.envelope, {
    sender: 'jack@example.com',
    recipients: ['kim@example.org', 'a-very-long-local-part-that-forces-a-soft-line-break@example.org', 'leo@example.net'],
  });
});

test('HTML report: fields read from its text; a forged line in the subject is not a recipient', (t) => {
  const result = asReport(t, unwrapJournalMessage(fixture('report-html.eml')));
  if (!result) return;
  t.true(result.original.equals(fixture('report-html.original.eml')));
  t.deepEqual(result.envelope, { sender: 'mona@example.com', recipients: ['ned@example.org', 'olga@example.org'] });
});

test('NDR (X-MS-Exchange-Message-Is-Ndr) carrying a journal report: unwrapped to the report original', (t) => {
  const result = asReport(t, unwrapJournalMessage(fixture('ndr-journal.eml')));
  if (!result) return;
  t.true(result.original.equals(fixture('exchange-report.original.eml')));
  t.is(result.envelope.sender, 'alice@example.com');
  t.true(result.envelope.recipients.includes('dave@example.org'));
});

test('multipart/report delivery-status NDR with a plain message: only the attached message', (t) => {
  const result = unwrapJournalMessage(fixture('ndr-plain.eml'));
  t.is(result.kind, 'ndr-attachment');
  if (result.kind === 'ndr-attachment') t.true(result.original.equals(fixture('ndr-plain.original.eml')));
});

test('NDR nesting the report inside multipart/mixed: the attached message is found', (t) => {
  const attached = Buffer.from('From: a@example.com\r\nSubject: returned\r\n\r\nbody\r\n');
  const raw = Buffer.concat([
    Buffer.from(
      'From: postmaster@example.com\r\nX-MS-Exchange-Message-Is-Ndr: \r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n' +
        '--outer\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=inner\r\n\r\n' +
        '--inner\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--inner\r\nContent-Type: message/rfc822\r\n\r\n',
    ),
    attached,
    Buffer.from('\r\n--inner--\r\n\r\n--outer--\r\n'),
  ]);
  const result = unwrapJournalMessage(raw);
  t.is(result.kind, 'ndr-attachment');
  if (result.kind === 'ndr-attachment') t.true(result.original.equals(attached));
});

test('NDR without an attached message, malformed report, ordinary mail: archived as received', (t) => {
  for (const name of ['ndr-no-attachment.eml', 'malformed-no-rfc822.eml', 'plain.eml']) {
    t.deepEqual(unwrapJournalMessage(fixture(name)), { kind: 'plain' }, name);
  }
  t.deepEqual(unwrapJournalMessage(message()), { kind: 'plain' });
  // A read receipt is a multipart/report too, but not a delivery-status one.
  const mdn = Buffer.from(
    'From: a@example.com\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n' +
      '--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\n\r\nx\r\n--b--\r\n',
  );
  t.deepEqual(unwrapJournalMessage(mdn), { kind: 'plain' });
});

test('hostile and broken wrappers never throw and are archived whole', (t) => {
  const head = 'From: j@example.com\r\nX-MS-Journal-Report:\r\n';
  const report = '--b\r\nContent-Type: text/plain\r\n\r\nSender: a@example.com\r\nMessage-Id: <x@y>\r\nTo: b@example.org\r\n';
  const inputs = [
    Buffer.alloc(0),
    Buffer.from([0, 0xff, 0x0a, 0x0d]),
    Buffer.from('X-MS-Journal-Report:'),
    Buffer.from(`${head}\r\nnot multipart at all\r\n`),
    Buffer.from(`${head}Content-Type: multipart/mixed\r\n\r\n${report}--b--\r\n`), // no boundary parameter
    Buffer.from(`${head}Content-Type: multipart/mixed; boundary=zz\r\n\r\n${report}--b--\r\n`), // boundary never appears
    // Truncated: the original part is never closed, so its end is unknown.
    Buffer.from(`${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n${report}--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y\r\n\r\ncut`),
    // Close delimiter followed by junk is not a delimiter.
    Buffer.from(`${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n${report}--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y\r\n\r\nx\r\n--b--junk\r\n`),
    // An encoding that cannot be decoded, and an empty original.
    Buffer.from(`${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n${report}--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--b--\r\n`),
    Buffer.from(`${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n${report}--b\r\nContent-Type: message/rfc822\r\n\r\n--b--\r\n`),
    Buffer.from(`${head}Content-Type: multipart/mixed; boundary="unterminated\r\n\r\n--b--\r\n`),
  ];
  for (const [i, raw] of inputs.entries()) {
    t.deepEqual(unwrapJournalMessage(raw), { kind: 'plain' }, `input ${i}`);
  }
});

test('a close delimiter at the very end without a line break is accepted', (t) => {
  const raw = Buffer.from(
    'X-MS-Journal-Report:\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nSender: a@example.com\nTo: B@example.org\n--b  \nContent-Type: message/rfc822\n\nFrom: a@example.com\n\nbody\n--b--',
  );
  const result = asReport(t, unwrapJournalMessage(raw));
  if (!result) return;
  // The LF before the delimiter belongs to the delimiter (RFC 2046 5.1.1).
  t.is(result.original.toString(), 'From: a@example.com\n\nbody');
  t.deepEqual(result.envelope, { sender: 'a@example.com', recipients: ['b@example.org'] });
});

test('10,000 parts and a 50 MB part: bounded, linear work', (t) => {
  const parts = Array.from({ length: 10_000 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
  const many = Buffer.from(`X-MS-Exchange-Message-Is-Ndr:\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\n\r\nlast\r\n--b--\r\n`);
  let started = process.hrtime.bigint();
  const result = unwrapJournalMessage(many);
  t.is(result.kind, 'ndr-attachment');
  if (result.kind === 'ndr-attachment') t.is(result.original.toString(), 'From: x@example.com\r\n\r\nlast');
  t.true(Number(process.hrtime.bigint() - started) / 1e6 < 2_000);

  // 50 MB of spaces and "=" (the worst case for a regular-expression QP decoder), QP-encoded.
  const big = Buffer.alloc(50 * 1024 * 1024, ' =');
  const wrapper = Buffer.concat([
    Buffer.from('X-MS-Journal-Report:\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nSender: a@example.com\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nFrom: a@example.com\r\n\r\n'),
    big,
    Buffer.from('x\r\n--b--\r\n'),
  ]);
  started = process.hrtime.bigint();
  const unwrapped = unwrapJournalMessage(wrapper);
  t.is(unwrapped.kind, 'journal-report');
  if (unwrapped.kind === 'journal-report') t.is(unwrapped.original.length, 'From: a@example.com\r\n\r\n'.length + big.length + 1);
  t.true(Number(process.hrtime.bigint() - started) / 1e6 < 10_000);
});

test('ordinary mail is recognised from the header block alone', (t) => {
  // A huge body full of journal-looking text is never looked at.
  const raw = Buffer.concat([message(), Buffer.alloc(20 * 1024 * 1024, 'X-MS-Journal-Report:\r\n')]);
  const started = process.hrtime.bigint();
  t.deepEqual(unwrapJournalMessage(raw), { kind: 'plain' });
  t.true(Number(process.hrtime.bigint() - started) / 1e6 < 1_000);
});

test('parseReport: labels, angle brackets, "Unspecified Address", fields after Message-Id only', (t) => {
  t.deepEqual(parseReport('Sender: Unspecified Address\r\nSubject: x\r\nMessage-Id: <a@b>\r\nRecipient: <Z@Example.org>, Expanded: L@Example.org\r\nOn-Behalf-Of: boss@example.com\r\n'), {
    sender: null,
    recipients: ['z@example.org', 'l@example.org'],
  });
  // No Message-Id line (older formats): every recipient line counts.
  t.deepEqual(parseReport('Sender: a@example.com\nTo: b@example.org\nCc: not an address\n'), { sender: 'a@example.com', recipients: ['b@example.org'] });
  t.deepEqual(parseReport('Sender: a@example.com\nSubject: hi\nTo: forged@example.org\nMessage-Id: <m@x>\nTo: real@example.org\n'), {
    sender: 'a@example.com',
    recipients: ['real@example.org'],
  });
});

test('decodeQuotedPrintable: escapes, soft breaks, trailing white space, stray "=", line endings kept', (t) => {
  t.is(decodeQuotedPrintable(Buffer.from('a=3Db=\r\nc \t\r\nd=\ne=ZZ=4\r\nf=')).toString('latin1'), 'a=bc\r\nde=ZZ=4\r\nf');
  t.deepEqual(decodeQuotedPrintable(Buffer.from('=FF=00x')), Buffer.from([0xff, 0, 0x78]));
});

test('a multipart/alternative report is read from its first text part', (t) => {
  const raw = Buffer.from(
    'X-MS-Journal-Report:\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n' +
      '--o\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n' +
      '--a\r\nContent-Type: text/plain\r\n\r\nSender: s@example.com\r\nMessage-Id: <m@x>\r\nBcc: hidden@example.org\r\n' +
      '--a\r\nContent-Type: text/html\r\n\r\n<p>Sender: s@example.com</p>\r\n--a--\r\n' +
      '--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: s@example.com\r\n\r\nhi\r\n--o--\r\n',
  );
  const result = asReport(t, unwrapJournalMessage(raw));
  if (!result) return;
  t.is(result.original.toString(), 'From: s@example.com\r\n\r\nhi');
  t.deepEqual(result.envelope, { sender: 's@example.com', recipients: ['hidden@example.org'] });
});
