import test from 'ava';
import { CsvError, parseMailboxCsv, type CsvMailbox } from '../../../../src/connectors/profiles/csv.js';

const FILE = 'mailboxes.csv';

/** The Notepad example of the MailStore manual, verbatim. */
const MANUAL = [
  'IMAP user name;IMAP password;Email address (optional);MailStore user name (optional)',
  'alexis.page;top!s3creT;alexis.page@example.com;alexis.page',
  'bill.burke;"quoted_with:semicolon";bill.burke@example.com;bill.burke',
  "frank.clark;'quoted,with;many|separators';frank.clark@example.com;frank.clark",
  'henry.gills;"quoted_with\'single_quotes";henry.gills@example.com;henry.gills',
  'lois.randall;"quoted_with""quotes";lois.randall@example.com;lois.randall',
].join('\r\n');

function parseError(t: import('ava').ExecutionContext, text: string): CsvError {
  const err = t.throws(() => parseMailboxCsv(text, FILE), { instanceOf: CsvError });
  if (err === undefined) throw new Error('expected a CsvError');
  return err;
}

function expectError(t: import('ava').ExecutionContext, text: string, line: number, problem: RegExp): void {
  const err = parseError(t, text);
  t.is(err.file, FILE);
  t.is(err.line, line);
  t.true(err.message.startsWith(`${FILE}:${line}: `), err.message);
  t.regex(err.message, problem);
}

test("the manual's example parses exactly", (t) => {
  t.deepEqual(parseMailboxCsv(MANUAL, FILE), [
    { line: 2, user: 'alexis.page', password: 'top!s3creT', email: 'alexis.page@example.com', archive: 'alexis.page' },
    { line: 3, user: 'bill.burke', password: 'quoted_with:semicolon', email: 'bill.burke@example.com', archive: 'bill.burke' },
    { line: 4, user: 'frank.clark', password: 'quoted,with;many|separators', email: 'frank.clark@example.com', archive: 'frank.clark' },
    { line: 5, user: 'henry.gills', password: "quoted_with'single_quotes", email: 'henry.gills@example.com', archive: 'henry.gills' },
    { line: 6, user: 'lois.randall', password: 'quoted_with"quotes', email: 'lois.randall@example.com', archive: 'lois.randall' },
  ] satisfies CsvMailbox[]);
});

test('LF endings, a BOM and a trailing newline give the same result', (t) => {
  const crlf = parseMailboxCsv(MANUAL, FILE);
  t.deepEqual(parseMailboxCsv(`\uFEFF${MANUAL.replaceAll('\r\n', '\n')}\n`, FILE), crlf);
});

for (const [name, sep] of [
  ['semicolon', ';'],
  ['comma', ','],
  ['bar', '|'],
  ['tab', '\t'],
] as const) {
  test(`the ${name} separator is detected from the header; the others are plain characters`, (t) => {
    const password = ['p', ';', ',', '|', '\t', 'w'].filter((c) => c !== sep).join('');
    const text = [`User${sep}Password${sep}Email${sep}Archive`, `a${sep}${password}${sep}a@example.com${sep}arch`].join('\n');
    t.deepEqual(parseMailboxCsv(text, FILE), [{ line: 2, user: 'a', password, email: 'a@example.com', archive: 'arch' }]);
  });
}

test('only the separator of the header separates columns', (t) => {
  const text = 'user,password\nbob,pa;ss|wo\trd\n';
  t.deepEqual(parseMailboxCsv(text, FILE), [{ line: 2, user: 'bob', password: 'pa;ss|wo\trd' }]);
});

test('the header wording is free and may be quoted', (t) => {
  const text = '"Login; name"|\'Pass|word\'\nbob|secret';
  t.deepEqual(parseMailboxCsv(text, FILE), [{ line: 2, user: 'bob', password: 'secret' }]);
});

test('a quoted first header field hides its separators from detection', (t) => {
  // ';' inside the quotes must not win over the ',' that follows them.
  const text = '"a;b",c\nbob,secret';
  t.deepEqual(parseMailboxCsv(text, FILE), [{ line: 2, user: 'bob', password: 'secret' }]);
});

test('an apostrophe inside an unquoted header field is plain text', (t) => {
  t.deepEqual(parseMailboxCsv("User's name;Password\nbob;x", FILE), [{ line: 2, user: 'bob', password: 'x' }]);
});

test('unquoted fields are trimmed, quoted ones are kept verbatim', (t) => {
  const text = 'u;p;e;a\n  bob  ;  secret  ; bob@example.com ; bob \ncarol; "  spaced  " ;;\n';
  t.deepEqual(parseMailboxCsv(text, FILE), [
    { line: 2, user: 'bob', password: 'secret', email: 'bob@example.com', archive: 'bob' },
    { line: 3, user: 'carol', password: '  spaced  ' },
  ]);
});

test('tabs pad fields unless the tab is the separator', (t) => {
  t.deepEqual(parseMailboxCsv('u;p\n\tbob\t;\t"x"\t', FILE), [{ line: 2, user: 'bob', password: 'x' }]);
  t.deepEqual(parseMailboxCsv('u\tp\n bob \t" x "', FILE), [{ line: 2, user: 'bob', password: ' x ' }]);
});

test('single and double quotes: doubled inside, the other kind plain', (t) => {
  const text = [
    'u;p',
    "a;'it''s'",
    'b;"say ""hi"""',
    "c;'\"'",
    'd;""""',
    "e;''''",
    'f;"a;b"',
  ].join('\n');
  t.deepEqual(
    parseMailboxCsv(text, FILE).map((m) => m.password),
    ["it's", 'say "hi"', '"', '"', "'", 'a;b'],
  );
});

test('a quote in the middle of an unquoted field is plain text', (t) => {
  t.deepEqual(parseMailboxCsv('u;p\nbob;pa"ss\'wd', FILE), [{ line: 2, user: 'bob', password: 'pa"ss\'wd' }]);
});

test('blank lines and spreadsheet empty rows are skipped; line numbers stay physical', (t) => {
  const text = '\n  \r\nuser;pass;mail;archive\r\n\r\n;;;\r\n \t \r\nbob;x;;\r\n;;;\r\n';
  t.deepEqual(parseMailboxCsv(text, FILE), [{ line: 7, user: 'bob', password: 'x' }]);
});

test('a header without rows gives no mailboxes', (t) => {
  t.deepEqual(parseMailboxCsv('user;password\n', FILE), []);
});

test('optional columns may be left out or empty', (t) => {
  const text = 'u;p;e;a\nbob;x\ncarol;y;;\ndave;z;dave@example.com\neve;w;;eve-archive';
  t.deepEqual(parseMailboxCsv(text, FILE), [
    { line: 2, user: 'bob', password: 'x' },
    { line: 3, user: 'carol', password: 'y' },
    { line: 4, user: 'dave', password: 'z', email: 'dave@example.com' },
    { line: 5, user: 'eve', password: 'w', archive: 'eve-archive' },
  ]);
});

test('empty or blank file: header required', (t) => {
  expectError(t, '', 1, /empty file: a header row is required/);
  expectError(t, '\uFEFF\r\n  \n\t\n', 1, /empty file/);
});

test('header without a separator', (t) => {
  expectError(t, 'just one column\nbob;x', 1, /header row needs at least two columns separated by ; , \| or tab/);
  expectError(t, '\n"a;b;c"\nbob;x', 2, /header row needs at least two columns/);
});

test('header with more than four columns', (t) => {
  expectError(t, 'a;b;c;d;e\nbob;x', 1, /header row has 5 columns; expected 2 to 4/);
  expectError(t, 'a;b;c;d;\nbob;x', 1, /header row has 5 columns/);
});

test('header with an unterminated quote', (t) => {
  expectError(t, '"user;password\nbob;x', 1, /unterminated quote in column 1/);
  expectError(t, 'user;"password\nbob;x', 1, /unterminated quote in column 2/);
});

test('unterminated quote: fields cannot span lines', (t) => {
  expectError(t, 'u;p\nbob;"multi\nline";x', 2, /unterminated quote in column 2/);
  expectError(t, "u;p\nbob;'it''s", 2, /unterminated quote in column 2/);
});

test('characters after a closing quote', (t) => {
  expectError(t, 'u;p\nbob;"sec"ret', 2, /unexpected characters after the closing quote in column 2/);
  expectError(t, 'u;p;e\n"bob" x;secret', 2, /after the closing quote in column 1/);
});

test('too many columns', (t) => {
  expectError(t, 'u;p\nbob;x;bob@example.com', 2, /too many columns: 3, the header row has 2/);
  expectError(t, 'u;p;e;a\nbob;x;bob@example.com;bob;extra', 2, /too many columns: 5, the header row has 4/);
  expectError(t, 'u;p;e;a\nbob;x;;;', 2, /too many columns/);
});

test('missing user name or password', (t) => {
  expectError(t, 'u;p\n;secret', 2, /missing user name in column 1/);
  expectError(t, 'u;p\nbob', 2, /missing password in column 2 \(columns are separated by ';'/);
  expectError(t, 'u;p\nbob;', 2, /missing password/);
  expectError(t, 'u;p\nbob;""', 2, /missing password/);
  expectError(t, 'u\tp\nbob', 2, /separated by tab/);
  // A row written with another separator: one column, so the password is "missing".
  expectError(t, 'u;p\nbob,secret', 2, /missing password/);
});

test('invalid email address', (t) => {
  const invalid = ['bob', 'bob@', '@example.com', 'bob@@example.com', 'b ob@example.com', 'bob@exa..mple', 'bob@.example'];
  for (const email of [...invalid, 'bob@example.', `${'x'.repeat(250)}@example.com`]) {
    expectError(t, `u;p;e\nbob;x;"${email}"`, 2, /invalid email address in column 3/);
  }
  t.is(parseMailboxCsv('u;p;e\nbob;x;bob@localhost', FILE)[0]?.email, 'bob@localhost');
});

test('invalid archive name', (t) => {
  for (const archive of ['.', '..', 'a/b', 'a b', '../etc', 'x'.repeat(65), 'ünïcode', 'a\\b']) {
    expectError(t, `u;p;e;a\nbob;x;;"${archive}"`, 2, /invalid archive name in column 4/);
  }
  t.is(parseMailboxCsv(`u;p;e;a\nbob;x;;${'x'.repeat(64)}`, FILE)[0]?.archive, 'x'.repeat(64));
  t.is(parseMailboxCsv('u;p;e;a\nbob;x;;A.b_c@d-e', FILE)[0]?.archive, 'A.b_c@d-e');
});

test('without an archive name the user name must be a valid archive name', (t) => {
  expectError(t, 'u;p\nDOMAIN\\bob;x', 2, /user name is not a valid archive name.*column 4/);
  expectError(t, 'u;p\n..;x', 2, /user name is not a valid archive name/);
  t.deepEqual(parseMailboxCsv('u;p;e;a\nDOMAIN\\bob;x;;bob', FILE), [{ line: 2, user: 'DOMAIN\\bob', password: 'x', archive: 'bob' }]);
});

test('duplicate user names, case-insensitive, name the first line', (t) => {
  expectError(t, 'u;p\nbob;x\n\ncarol;y\nBOB;z', 5, /duplicate user name \(first on line 2\)/);
});

test('control characters in user name or password', (t) => {
  expectError(t, 'u;p\nbob;"a\u0000b"', 2, /password contains a control character/);
  expectError(t, 'u;p\nbob;a\rb', 2, /password contains a control character/);
  expectError(t, 'u;p\n"b\u0001ob";x', 2, /user name contains a control character/);
  // A tab inside a quoted password is a character like any other.
  t.is(parseMailboxCsv('u;p\nbob;"a\tb"', FILE)[0]?.password, 'a\tb');
});

test('a lone CR is not a line break', (t) => {
  // Only CRLF and LF end lines; a CR left inside an unquoted field is trimmed at its edges.
  t.deepEqual(parseMailboxCsv('u;p\r\nbob;x\r', FILE), [{ line: 2, user: 'bob', password: 'x' }]);
});

test('error messages never contain a password', (t) => {
  const secret = 'Sup3r$ecret';
  const cases = [
    `u;p\nbob;"${secret}"junk`,
    `u;p\nbob;"${secret}`,
    `u;p\nbob;${secret};extra`,
    `u;p;e\nbob;${secret};${secret}`,
    `u;p;e;a\nbob;${secret};;${secret}/x`,
    `u;p\nbob;${secret}\nbob;${secret}`,
    `u;p\nbob;"${secret}\u0000"`,
    `u;p\n;${secret}`,
  ];
  for (const text of cases) {
    const err = parseError(t, text);
    t.false(err.message.includes(secret), err.message);
    t.false((err.stack ?? '').includes(secret));
  }
});

test('CsvError carries file and line', (t) => {
  const err = new CsvError('x.csv', 7, 'boom');
  t.is(err.message, 'x.csv:7: boom');
  t.is(err.file, 'x.csv');
  t.is(err.line, 7);
  t.is(err.name, 'CsvError');
  t.true(err instanceof Error);
});

test('hostile input: long lines, many quotes, many rows', (t) => {
  const long = 'x'.repeat(200_000);
  t.is(parseMailboxCsv(`u;p\nbob;"${long}"`, FILE)[0]?.password.length, 200_000);
  const quotes = '""'.repeat(50_000);
  t.is(parseMailboxCsv(`u;p\nbob;"${quotes}"`, FILE)[0]?.password, '"'.repeat(50_000));
  expectError(t, `u;p\nbob;"${'"'.repeat(100_000)}`, 2, /unterminated quote in column 2/);
  const rows = Array.from({ length: 5000 }, (_, i) => `user${i};pw${i}`).join('\n');
  t.is(parseMailboxCsv(`u;p\n${rows}`, FILE).length, 5000);
  expectError(t, `u;p\n${'x'.repeat(70)};pw`, 2, /not a valid archive name/);
});
