import test from 'ava';
import { decodeImapUtf7 } from '../../../../src/connectors/files/utf7.js';

test('plain ASCII is unchanged', (t) => {
  t.is(decodeImapUtf7('INBOX'), 'INBOX');
  t.is(decodeImapUtf7('Work Projects-2024'), 'Work Projects-2024');
});

test('&- is a literal ampersand', (t) => {
  t.is(decodeImapUtf7('Tom &- Jerry'), 'Tom & Jerry');
  t.is(decodeImapUtf7('&-&-'), '&&');
});

test('base64 runs decode as UTF-16BE', (t) => {
  t.is(decodeImapUtf7('&AMQ-'), 'Ä');
  t.is(decodeImapUtf7('Entw&APw-rfe'), 'Entwürfe');
  t.is(decodeImapUtf7('Gel&APY-schte Elemente'), 'Gelöschte Elemente');
  // RFC 3501 section 5.1.3 example
  t.is(decodeImapUtf7('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), '~peter/mail/台北/日本語');
});

test('a surrogate pair decodes to one code point', (t) => {
  t.is(decodeImapUtf7('&2D3eAA-'), '😀');
});

test('malformed runs are left as they are', (t) => {
  t.is(decodeImapUtf7('A&B'), 'A&B'); // no terminating -
  t.is(decodeImapUtf7('&A-'), '&A-'); // 6 bits: not a whole byte
  t.is(decodeImapUtf7('&AM-'), '&AM-'); // 1 byte: not a whole UTF-16 unit
  t.is(decodeImapUtf7('&*!-'), '&*!-'); // not base64
});
