// Parser for the mailbox list of a "Multiple IMAP Mailboxes (CSV File)" profile (MailStore manual
// 2.8): a free-worded header row, then one row per mailbox: user name, password, optional email
// address, optional archive name. Admins write these files by hand or export them from Excel, so
// every error names the file and line, and none ever repeats a field value (it could be a password).

/** One mailbox row. `archive` is absent when the column is empty: the archive is then `user`. */
export interface CsvMailbox {
  /** 1-based line in the file. */
  line: number;
  user: string;
  password: string;
  email?: string;
  archive?: string;
}

export class CsvError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'CsvError';
  }
}

const SEPARATORS = [';', ',', '|', '\t'] as const;
const MAX_COLUMNS = 4;
const ARCHIVE_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
// Deliberately loose (local@domain, dot-separated labels): the address only labels the archive folder.
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)*$/;
// NUL ends the strings of SASL PLAIN and CR/LF end IMAP commands: such a value can only be a mistake.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const COLUMN_NAMES = ['user name', 'password', 'email address', 'archive name'] as const;

interface Field {
  value: string;
  quoted: boolean;
}

function isArchiveName(name: string): boolean {
  return ARCHIVE_NAME.test(name) && name !== '.' && name !== '..';
}

/** Spaces, and tabs unless the tab separates columns, are padding around fields. */
function isPadding(c: string | undefined, sep: string | null): boolean {
  return c === ' ' || (c === '\t' && sep !== '\t');
}

function describeSeparator(sep: string): string {
  return sep === '\t' ? 'tab' : `'${sep}'`;
}

/**
 * Reads the quoted field whose opening quote is at `start`; the quote character inside is doubled.
 * Returns the value and the index just past the closing quote, or null when the quote never closes
 * (fields cannot span lines).
 */
function readQuoted(line: string, start: number): { value: string; end: number } | null {
  const quote = line[start] as string;
  let value = '';
  let pos = start + 1;
  for (;;) {
    const close = line.indexOf(quote, pos);
    if (close < 0) return null;
    value += line.slice(pos, close);
    if (line[close + 1] === quote) {
      value += quote;
      pos = close + 2;
    } else {
      return { value, end: close + 1 };
    }
  }
}

/** The separator is the first candidate outside quotes in the header row; null when there is none. */
function detectSeparator(line: string, fail: (problem: string) => never): string | null {
  let pos = 0;
  while (isPadding(line[pos], null)) pos++;
  if (line[pos] === '"' || line[pos] === "'") {
    const quoted = readQuoted(line, pos);
    if (quoted === null) fail('unterminated quote in column 1');
    pos = quoted.end;
  }
  for (; pos < line.length; pos++) {
    const c = line[pos] as string;
    if ((SEPARATORS as readonly string[]).includes(c)) return c;
  }
  return null;
}

/** Splits one line into fields. A quote opens a field only as its first non-blank character. */
function splitLine(line: string, sep: string, fail: (problem: string) => never): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  for (;;) {
    const column = fields.length + 1;
    while (isPadding(line[pos], sep)) pos++;
    const c = line[pos];
    if (c === '"' || c === "'") {
      const quoted = readQuoted(line, pos);
      if (quoted === null) fail(`unterminated quote in column ${column}`);
      pos = quoted.end;
      while (isPadding(line[pos], sep)) pos++;
      fields.push({ value: quoted.value, quoted: true });
      if (pos >= line.length) return fields;
      if (line[pos] !== sep) fail(`unexpected characters after the closing quote in column ${column}`);
      pos++;
    } else {
      const next = line.indexOf(sep, pos);
      const end = next < 0 ? line.length : next;
      fields.push({ value: line.slice(pos, end).trim(), quoted: false });
      if (next < 0) return fields;
      pos = next + 1;
    }
  }
}

/**
 * Parses the mailbox list. Throws CsvError on the first problem: a list that is partly wrong is
 * better refused whole than archived into the wrong archives.
 */
export function parseMailboxCsv(text: string, file: string): CsvMailbox[] {
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r?\n/);
  let sep: string | null = null;
  let headerColumns = 0;
  const mailboxes: CsvMailbox[] = [];
  const firstLineOfUser = new Map<string, number>();

  for (const [index, line] of lines.entries()) {
    const lineNo = index + 1;
    if (line.trim() === '') continue;
    // Declared with its type so that calls narrow like `throw` does.
    const fail: (problem: string) => never = (problem) => {
      throw new CsvError(file, lineNo, problem);
    };

    if (sep === null) {
      sep = detectSeparator(line, fail);
      if (sep === null) fail('header row needs at least two columns separated by ; , | or tab');
      headerColumns = splitLine(line, sep, fail).length;
      if (headerColumns > MAX_COLUMNS) {
        fail(`header row has ${headerColumns} columns; expected 2 to ${MAX_COLUMNS} (${COLUMN_NAMES.join(', ')})`);
      }
      continue;
    }

    const fields = splitLine(line, sep, fail);
    // Spreadsheets save empty rows as ";;;": that is a blank line, not a mailbox without a name.
    if (fields.every((f) => f.value === '')) continue;
    if (fields.length > headerColumns) {
      fail(`too many columns: ${fields.length}, the header row has ${headerColumns}`);
    }
    const [user, password, email, archive] = fields.map((f) => f.value);
    if (user === undefined || user === '') fail('missing user name in column 1');
    if (password === undefined || password === '') {
      fail(`missing password in column 2 (columns are separated by ${describeSeparator(sep)}, as in the header row)`);
    }
    if (CONTROL.test(user)) fail('user name contains a control character');
    if (CONTROL.test(password)) fail('password contains a control character');
    if (email !== undefined && email !== '' && (email.length > 254 || !EMAIL.test(email))) {
      fail('invalid email address in column 3');
    }
    if (archive !== undefined && archive !== '') {
      if (!isArchiveName(archive)) fail('invalid archive name in column 4 (1-64 of A-Z a-z 0-9 . _ @ -)');
    } else if (!isArchiveName(user)) {
      // The archive is named after the user: check it now rather than when the profile runs.
      fail('the user name is not a valid archive name (1-64 of A-Z a-z 0-9 . _ @ -): give one in column 4');
    }
    const key = user.toLowerCase();
    const first = firstLineOfUser.get(key);
    if (first !== undefined) fail(`duplicate user name (first on line ${first})`);
    firstLineOfUser.set(key, lineNo);

    const mailbox: CsvMailbox = { line: lineNo, user, password };
    if (email !== undefined && email !== '') mailbox.email = email;
    if (archive !== undefined && archive !== '') mailbox.archive = archive;
    mailboxes.push(mailbox);
  }

  if (sep === null) throw new CsvError(file, 1, 'empty file: a header row is required');
  return mailboxes;
}
