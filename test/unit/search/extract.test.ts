// What gets indexed of a message: decoded header fields, the body the reader sees (transfer
// encodings, charsets and HTML undone), attachment names as analyze.ts lists them and the text of
// text attachments and attached messages. Hostile input must never throw.
import test from 'ava';
import { analyzeMessage } from '../../../src/mime/analyze.js';
import { extractSearchText, htmlToText, MAX_TEXT_CHARS } from '../../../src/search/extract.js';
import { parseMimeTree } from '../../../src/vendor/imap-core.js';
import { message } from '../helpers.js';

function mime(lines: string[], encoding: BufferEncoding = 'utf8'): Buffer {
  return Buffer.from(lines.join('\r\n'), encoding);
}

function extract(raw: Buffer): ReturnType<typeof extractSearchText> {
  return extractSearchText(parseMimeTree(raw), raw);
}

/** Whitespace collapsed, so assertions do not depend on where line breaks and tag spaces fall. */
function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

test('header fields are decoded: encoded words, display names and addresses, groups, Message-ID', (t) => {
  const raw = message({
    from: '=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.com>',
    to: 'bob@example.org, "Carol Smith" <carol@example.net>',
    subject: '=?iso-8859-1?q?Gr=FC=DFe?= aus =?utf-8?b?S8O2bG4=?=',
    messageId: 'abc.123@mail.example.com',
    extra: 'Cc: Team: dave@example.org, =?utf-8?q?Ev=C3=A9?= <eve@example.org>;\r\nBcc: frank@example.org',
  });
  const text = extract(raw);
  t.is(text.subject, 'Grüße aus Köln');
  t.is(text.from, 'Jürgen Müller juergen@example.com');
  t.is(text.to, 'bob@example.org\nCarol Smith carol@example.net');
  t.true(text.cc.includes('dave@example.org'));
  t.true(text.cc.includes('Evé eve@example.org'));
  t.is(text.bcc, 'frank@example.org');
  t.is(text.messageId, 'abc.123@mail.example.com');
  t.is(squash(text.body), 'Hello there.');
  t.deepEqual(text.attachmentNames, []);
  t.is(text.attachmentContent, '');
});

test('a base64 body in UTF-8 is decoded', (t) => {
  const body = Buffer.from('Grüße aus München, schöne Tage!\r\n').toString('base64');
  const raw = mime(['From: a@example.com', 'Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: base64', '', body.slice(0, 20), body.slice(20), '']);
  t.is(squash(extract(raw).body), 'Grüße aus München, schöne Tage!');
});

test('a quoted-printable body is decoded, soft line breaks joined', (t) => {
  const raw = mime([
    'From: a@example.com',
    'Content-Type: text/plain; charset="utf-8"',
    'Content-Transfer-Encoding: Quoted-Printable',
    '',
    'M=C3=BCller wrote a very long li=',
    'ne that was wrapped; 1+1=3D2',
    '',
  ]);
  t.is(squash(extract(raw).body), 'Müller wrote a very long line that was wrapped; 1+1=2');
});

test('ISO-8859-1 (and windows-1252) bodies are decoded; 8-bit text without a charset too', (t) => {
  const latin = mime(['From: a@example.com', 'Content-Type: text/plain; charset=ISO-8859-1', 'Content-Transfer-Encoding: 8bit', '', 'Gr\xfc\xdfe, \x80 5 caf\xe9', ''], 'latin1');
  t.is(squash(extract(latin).body), 'Grüße, € 5 café');
  const qp = mime(['From: a@example.com', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable', '', 'M=FCller', '']);
  t.is(squash(extract(qp).body), 'Müller');
  // No charset: valid UTF-8 is UTF-8, anything else windows-1252.
  const utf8 = mime(['From: a@example.com', '', 'Grüße', '']);
  t.is(squash(extract(utf8).body), 'Grüße');
  const eight = mime(['From: a@example.com', 'Content-Type: text/plain; charset=us-ascii', '', 'Gr\xfc\xdfe', ''], 'latin1');
  t.is(squash(extract(eight).body), 'Grüße');
  // Unknown or misspelt charset names do not lose the text.
  const bogus = mime(['From: a@example.com', 'Content-Type: text/plain; charset=x-unknown-thing', '', 'plain words', '']);
  t.is(squash(extract(bogus).body), 'plain words');
  const misspelt = mime(['From: a@example.com', 'Content-Type: text/plain; charset=win-1250', '', 'Zg\xb3oszenie', ''], 'latin1');
  t.is(squash(extract(misspelt).body), 'Zgłoszenie');
});

test('other charsets: KOI8-R and Shift_JIS', (t) => {
  const koi8 = mime(['From: a@example.com', 'Content-Type: text/plain; charset=koi8-r', '', '\xf0\xd2\xc9\xd7\xc5\xd4', ''], 'latin1');
  t.is(squash(extract(koi8).body), 'Привет');
  const sjis = Buffer.concat([mime(['From: a@example.com', 'Content-Type: text/plain; charset=Shift_JIS', '', '']), Buffer.from([0x93, 0xfa, 0x96, 0x7b])]);
  t.is(squash(extract(sjis).body), '日本');
});

test('multipart/alternative: the plain text part is the body, the HTML one is not indexed again', (t) => {
  const raw = mime([
    'From: a@example.com',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    'This is a multi-part message in MIME format.',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'plain version',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>html version</p>',
    '--alt--',
    '',
  ]);
  const text = extract(raw);
  t.is(squash(text.body), 'plain version');
  t.is(text.attachmentContent, '');
  t.false(text.body.includes('multi-part message'), 'the preamble is not text');
});

test('multipart/alternative without plain text: the HTML alternative (inside multipart/related) is the body', (t) => {
  const raw = mime([
    'From: a@example.com',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/enriched',
    '',
    '<bold>enriched</bold>',
    '--alt',
    'Content-Type: multipart/related; boundary="rel"',
    '',
    '--rel',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>the html one</p>',
    '--rel',
    'Content-Type: image/png; name="logo.png"',
    'Content-Transfer-Encoding: base64',
    '',
    'iVBORw0KGgo=',
    '--rel--',
    '--alt--',
    '',
  ]);
  const text = extract(raw);
  t.is(squash(text.body), 'the html one');
  t.deepEqual(text.attachmentNames, ['logo.png']);
  t.is(text.attachmentContent, '', 'the unchosen alternative is not indexed as attachment content');
});

test('an HTML-only body becomes text: script, style, head, comments dropped; entities decoded', (t) => {
  const html = [
    '<!DOCTYPE html><html><head><title>Page title</title><style>p { color: red }</style>',
    '<meta charset="utf-8"><script>var hidden = "scripted";</script></head>',
    '<body><p>Gr&uuml;&szlig;e &amp; more&nbsp;text &#252;ber &#x00fc;ber &lt;tag&gt;</p>',
    '<!-- a comment -->V<b>i</b>a<!-- x -->gra<br>next<td>cell</td><a href="http://example.com/link">link text</a>',
    '</body></html>',
  ].join('\r\n');
  const raw = mime(['From: a@example.com', 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable', '', html.replace(/=/g, '=3D'), '']);
  const body = squash(extract(raw).body);
  t.is(body, 'Grüße & more text über über <tag> Viagra next cell link text');
  t.true(extract(raw).body.includes('more\u00a0text'), '&nbsp; is a no-break space');
  for (const hidden of ['Page', 'color', 'scripted', 'comment', 'http', 'example']) t.false(body.includes(hidden), hidden);
});

test('htmlToText: a <head> that is never closed does not hide the body; unclosed script hides the rest', (t) => {
  t.is(squash(htmlToText('<html><body><head><title>t</title>Visible words</body>')), 'Visible words');
  t.is(squash(htmlToText('before<script>if (a < b) { x = "</p>" }</script>after')), 'before after');
  t.is(squash(htmlToText('shown<style>p {}')), 'shown');
  t.is(squash(htmlToText('a < b and c > d, 3<4')), 'a < b and c > d, 3<4');
  t.is(htmlToText(''), '');
});

test('attachments: names decoded as analyze.ts lists them, text attachment contents indexed, binary not', (t) => {
  const raw = mime([
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
    Buffer.from('%PDF-1.4 pdfsecretword').toString('base64'),
    '--b1',
    'Content-Type: text/plain; charset=iso-8859-1',
    "Content-Disposition: attachment; filename*=iso-8859-1''Notizen%20f%FCr%20dich.txt",
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('Notizen f\xfcr das Treffen', 'latin1').toString('base64'),
    '--b1',
    'Content-Type: text/csv; name="table.csv"',
    '',
    'name;city',
    'Anna;Zürich',
    '--b1',
    'Content-Type: application/octet-stream; name="readme.txt"',
    'Content-Disposition: attachment',
    '',
    'octet stream text',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    'Content-Disposition: attachment; filename="page.html"',
    '',
    '<h1>Attached&nbsp;page</h1><script>nothere()</script>',
    '--b1',
    'Content-Type: image/png',
    'Content-Disposition: inline',
    '',
    'pngbytes',
    '--b1',
    'Content-Type: text/plain',
    '',
    'Mailing list footer',
    '--b1--',
    '',
  ]);
  const text = extract(raw);
  t.deepEqual(text.attachmentNames, ['Bericht März.pdf', 'Notizen für dich.txt', 'table.csv', 'readme.txt', 'page.html']);
  // The same parts and names as analyze.ts lists (which shows them to users).
  const listed = analyzeMessage(raw).meta.attachments.flatMap((attachment) => (attachment.name === null ? [] : [attachment.name]));
  t.deepEqual(listed, text.attachmentNames);
  t.is(squash(text.body), 'See attached. Mailing list footer');
  const content = squash(text.attachmentContent);
  for (const expected of ['Notizen für das Treffen', 'Anna;Zürich', 'octet stream text', 'Attached page']) t.true(content.includes(expected), expected);
  for (const absent of ['pdfsecretword', 'PDF', 'pngbytes', 'nothere']) t.false(content.includes(absent), absent);
});

test('RFC 2231 file names: the declared charset is used and underscores stay underscores', (t) => {
  const raw = mime([
    'From: a@example.com',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: application/pdf',
    "Content-Disposition: attachment; filename*=UTF-8''my_M%C3%A4rz%20report.pdf",
    '',
    'x',
    '--b',
    'Content-Type: application/pdf',
    "Content-Disposition: attachment; filename*0*=utf-8''Teil%20eins%20; filename*1*=und%20zwei.pdf",
    '',
    'x',
    '--b--',
    '',
  ]);
  t.deepEqual(extract(raw).attachmentNames, ['my_März report.pdf', 'Teil eins und zwei.pdf']);
});

test('a message that is nothing but an attached message: that message is the body', (t) => {
  const raw = mime(['From: a@example.com', 'Subject: wrapper', 'Content-Type: message/rfc822', '', 'Subject: inner subject', 'From: b@example.com', '', 'inner words', '']);
  const text = extract(raw);
  t.is(text.subject, 'wrapper');
  t.true(squash(text.body).includes('inner subject'));
  t.true(squash(text.body).includes('inner words'));
  t.deepEqual(text.attachmentNames, []);
});

test('an attached message: its subject, senders, body and text attachments go to attachment content', (t) => {
  const inner = [
    'From: =?utf-8?q?Z=C3=B6e?= <zoe@example.net>',
    'To: yan@example.net',
    'Subject: =?utf-8?q?Inner_subj=C3=A9ct?=',
    'Content-Type: multipart/mixed; boundary="in"',
    '',
    '--in',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'forwarded body words',
    '--in',
    'Content-Type: text/plain; name="inner.txt"',
    'Content-Disposition: attachment; filename="inner.txt"',
    '',
    'inner attachment words',
    '--in--',
    '',
  ];
  const outer = (encoding: 'plain' | 'base64'): Buffer =>
    mime([
      'From: a@example.com',
      'Subject: Fwd: something',
      'Content-Type: multipart/mixed; boundary="out"',
      '',
      '--out',
      'Content-Type: text/plain',
      '',
      'outer body',
      '--out',
      'Content-Type: message/rfc822; name="forwarded.eml"',
      ...(encoding === 'base64' ? ['Content-Transfer-Encoding: base64', '', Buffer.from(inner.join('\r\n')).toString('base64')] : ['', ...inner]),
      '--out--',
      '',
    ]);
  for (const encoding of ['plain', 'base64'] as const) {
    const text = extract(outer(encoding));
    t.is(text.subject, 'Fwd: something');
    t.is(squash(text.body), 'outer body', encoding);
    t.deepEqual(text.attachmentNames, ['forwarded.eml'], encoding);
    const content = squash(text.attachmentContent);
    for (const expected of ['Inner subjéct', 'Zöe zoe@example.net', 'yan@example.net', 'forwarded body words', 'inner.txt', 'inner attachment words']) {
      t.true(content.includes(expected), `${encoding}: ${expected}`);
    }
  }
});

test('hostile input does not throw: empty, binary garbage, no tree, broken base64, deep nesting', (t) => {
  const empty = Buffer.alloc(0);
  const garbage = Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 10, 13, 0, 9, 0x3d, 0x3f]);
  for (const raw of [empty, garbage]) {
    t.notThrows(() => extractSearchText(parseMimeTree(raw), raw));
    t.notThrows(() => extractSearchText(null, raw));
  }
  t.is(extractSearchText(null, empty).body, '');
  // Without a tree the raw bytes are the body.
  t.is(squash(extractSearchText(null, Buffer.from('Subject: x\r\n\r\nraw words')).body), 'Subject: x raw words');
  const brokenBase64 = mime(['From: a@example.com', 'Content-Transfer-Encoding: base64', '', '!!!not base64 at all%%%', '']);
  t.notThrows(() => extract(brokenBase64));
  let nested = 'deep words';
  for (let i = 0; i < 80; i++) nested = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${nested}\r\n--b${i}--\r\n`;
  const deep = Buffer.from(`From: a@example.com\r\n${nested}`);
  t.notThrows(() => extract(deep));
  t.notThrows(() => extractSearchText({ header: [], parsedHeader: { 'content-type': 42, subject: {}, from: [null, 7, { group: 'x' }] } }, empty));
});

test('every field is bounded by MAX_TEXT_CHARS', (t) => {
  const line = 'word '.repeat(199) + 'word\r\n';
  const huge = line.repeat(Math.ceil((MAX_TEXT_CHARS * 1.3) / line.length));
  const raw = mime([
    'From: a@example.com',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    huge,
    '--b',
    'Content-Type: text/plain',
    '',
    huge,
    '--b',
    'Content-Type: text/plain; name="big.txt"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(huge).toString('base64'),
    '--b--',
    '',
  ]);
  const text = extract(raw);
  t.is(text.body.length, MAX_TEXT_CHARS);
  t.is(text.attachmentContent.length, MAX_TEXT_CHARS);
  t.true(text.body.startsWith('word word'));
  t.is(extractSearchText(null, Buffer.alloc(MAX_TEXT_CHARS + 10, 'a')).body.length, MAX_TEXT_CHARS);
});
