import test from 'ava';
import {
  checkFolderPattern,
  effectiveFolders,
  type EffectiveFolder,
  type FolderPattern,
  type FolderRules,
  type SourceFolder,
} from '../../../../src/connectors/imap/folder-rules.js';

const RULES: FolderRules = { include: [], exclude: [], excludeDefaults: true, detectSent: true, sentFolders: [] };

const rules = (over: Partial<FolderRules>): FolderRules => ({ ...RULES, ...over });
const only = (path: string, subfolders = false): FolderPattern => ({ path, subfolders });
const folder = (path: string, specialUse?: string, noSelect?: boolean): SourceFolder => {
  const f: SourceFolder = { path: path.split('/') };
  if (specialUse !== undefined) f.specialUse = specialUse;
  if (noSelect !== undefined) f.noSelect = noSelect;
  return f;
};

/** Path → [archived, reason] for compact assertions. */
function decisions(result: readonly EffectiveFolder[]): Record<string, [boolean, string]> {
  return Object.fromEntries(result.map((f) => [f.path.join('/'), [f.archived, f.reason]]));
}
function sent(result: readonly EffectiveFolder[]): string[] {
  return result.filter((f) => f.sent).map((f) => f.path.join('/'));
}

/** A Dovecot-like mailbox with SPECIAL-USE. */
const DOVECOT: SourceFolder[] = [
  folder('INBOX'),
  folder('INBOX/Projects'),
  folder('Sent', '\\Sent'),
  folder('Trash', '\\Trash'),
  folder('Trash/Old'),
  folder('Drafts', '\\Drafts'),
  folder('Junk', '\\Junk'),
  folder('Archive', '\\Archive'),
  folder('Outbox'),
  folder('Private'),
  folder('Private/Health'),
];

test('checkFolderPattern', (t) => {
  for (const ok of ['INBOX', 'Parent/Child', 'Folder with spaces', '||^Archive/\\d{4}$', '|i|spam', '|x|literal']) {
    t.is(checkFolderPattern(ok), null, ok);
  }
  t.is(checkFolderPattern(''), 'folder pattern is empty');
  t.is(checkFolderPattern('   '), 'folder pattern is empty');
  t.is(checkFolderPattern('||'), 'regular expression is empty');
  t.is(checkFolderPattern('|i|'), 'regular expression is empty');
  t.regex(checkFolderPattern('||(unclosed') ?? '', /^invalid regular expression: /);
  t.regex(checkFolderPattern('|i|[z-a]') ?? '', /^invalid regular expression: /);
  for (const bad of ['/INBOX', 'INBOX/', 'a//b']) t.regex(checkFolderPattern(bad) ?? '', /empty segment/, bad);
});

test('defaults: everything but trash, drafts, junk and outbox (SPECIAL-USE server)', (t) => {
  const result = effectiveFolders(DOVECOT, RULES, true);
  t.deepEqual(result.map((f) => f.path), DOVECOT.map((f) => f.path)); // same order
  t.deepEqual(decisions(result), {
    INBOX: [true, 'included'],
    'INBOX/Projects': [true, 'included'],
    Sent: [true, 'included'],
    Trash: [false, 'default exclusion (\\Trash)'],
    'Trash/Old': [false, 'inside default exclusion "Trash"'],
    Drafts: [false, 'default exclusion (\\Drafts)'],
    Junk: [false, 'default exclusion (\\Junk)'],
    Archive: [true, 'included'],
    Outbox: [false, 'default exclusion ("Outbox")'],
    Private: [true, 'included'],
    'Private/Health': [true, 'included'],
  });
  t.deepEqual(sent(result), ['Sent']);
});

test('SPECIAL-USE beats names: an unmarked "Spam" is archived, a marked oddly named folder is not', (t) => {
  const folders = [
    folder('Spam'),
    folder('Unerwünscht', '\\Junk'),
    folder('Müll', '\\Trash'),
    folder('Papierkorb/Alt'),
    folder('Gesendet', '\\Sent'),
    folder('Sent Items'),
  ];
  const result = effectiveFolders(folders, RULES, true);
  t.deepEqual(decisions(result), {
    Spam: [true, 'included'],
    Unerwünscht: [false, 'default exclusion (\\Junk)'],
    Müll: [false, 'default exclusion (\\Trash)'],
    'Papierkorb/Alt': [true, 'included'],
    Gesendet: [true, 'included'],
    'Sent Items': [true, 'included'],
  });
  t.deepEqual(sent(result), ['Gesendet']);
});

test('a kind the server does not mark falls back to names', (t) => {
  // \Trash is marked, \Junk is not: "Spam" matches by name, the unmarked "Trash" does not.
  const folders = [folder('Deleted', '\\Trash'), folder('Trash'), folder('Spam'), folder('Sent Mail')];
  const result = effectiveFolders(folders, RULES, true);
  t.deepEqual(decisions(result), {
    Deleted: [false, 'default exclusion (\\Trash)'],
    Trash: [true, 'included'],
    Spam: [false, 'default exclusion ("Spam")'],
    'Sent Mail': [true, 'included'],
  });
  t.deepEqual(sent(result), ['Sent Mail']); // no folder is marked \Sent
});

test('without SPECIAL-USE: names, case-insensitive, last segment at any depth', (t) => {
  const folders = [
    folder('INBOX'),
    folder('INBOX/Trash'),
    folder('INBOX/Trash/Sub'),
    folder('Deleted Items'),
    folder('deleted messages'),
    folder('DRAFTS'),
    folder('Junk E-mail'),
    folder('Junk Email'),
    folder('[Gmail]/Spam'),
    folder('Bulk Mail'),
    folder('OUTBOX'),
    folder('Projects/Trash Talk'),
    folder('Sent Items', '\\Junk'), // attributes are ignored: the server did not announce SPECIAL-USE
    folder('INBOX/Sent'),
  ];
  const result = effectiveFolders(folders, RULES, false);
  t.deepEqual(decisions(result), {
    INBOX: [true, 'included'],
    'INBOX/Trash': [false, 'default exclusion ("Trash")'],
    'INBOX/Trash/Sub': [false, 'inside default exclusion "INBOX/Trash"'],
    'Deleted Items': [false, 'default exclusion ("Deleted Items")'],
    'deleted messages': [false, 'default exclusion ("deleted messages")'],
    DRAFTS: [false, 'default exclusion ("DRAFTS")'],
    'Junk E-mail': [false, 'default exclusion ("Junk E-mail")'],
    'Junk Email': [false, 'default exclusion ("Junk Email")'],
    '[Gmail]/Spam': [false, 'default exclusion ("Spam")'],
    'Bulk Mail': [false, 'default exclusion ("Bulk Mail")'],
    OUTBOX: [false, 'default exclusion ("OUTBOX")'],
    'Projects/Trash Talk': [true, 'included'],
    'Sent Items': [true, 'included'],
    'INBOX/Sent': [true, 'included'],
  });
  t.deepEqual(sent(result), ['Sent Items', 'INBOX/Sent']);
});

test('excludeDefaults off archives trash, drafts, junk and outbox', (t) => {
  const result = effectiveFolders(DOVECOT, rules({ excludeDefaults: false }), true);
  t.true(result.every((f) => f.archived));
});

test('virtual \\All and \\Flagged folders are excluded unless included by exact path', (t) => {
  const gmail = [
    folder('INBOX'),
    folder('[Gmail]', undefined, true),
    folder('[Gmail]/All Mail', '\\All'),
    folder('[Gmail]/Starred', '\\Flagged'),
    folder('[Gmail]/Sent Mail', '\\Sent'),
  ];
  t.deepEqual(decisions(effectiveFolders(gmail, RULES, true)), {
    INBOX: [true, 'included'],
    '[Gmail]': [false, 'not selectable'],
    '[Gmail]/All Mail': [false, 'virtual folder (\\All)'],
    '[Gmail]/Starred': [false, 'virtual folder (\\Flagged)'],
    '[Gmail]/Sent Mail': [true, 'included'],
  });
  // Even with default exclusions off.
  t.false(effectiveFolders(gmail, rules({ excludeDefaults: false }), true)[2]?.archived);
  // Gmail users may want All Mail only: naming it exactly is enough.
  t.deepEqual(decisions(effectiveFolders(gmail, rules({ include: [only('[Gmail]/All Mail')] }), true)), {
    INBOX: [false, 'not in include list'],
    '[Gmail]': [false, 'not selectable'],
    '[Gmail]/All Mail': [true, 'included by "[Gmail]/All Mail"'],
    '[Gmail]/Starred': [false, 'virtual folder (\\Flagged)'],
    '[Gmail]/Sent Mail': [false, 'not in include list'],
  });
  // Including the parent with its subfolders, or a regex, does not pull in the virtual folders.
  const byParent = effectiveFolders(gmail, rules({ include: [only('[Gmail]', true), only('|i|mail')] }), true);
  t.deepEqual(decisions(byParent)['[Gmail]/All Mail'], [false, 'virtual folder (\\All)']);
  t.deepEqual(decisions(byParent)['[Gmail]/Sent Mail'], [true, 'included by "[Gmail]"']);
});

test('\\Noselect folders are never archived, their children can be', (t) => {
  const folders = [folder('Lists', undefined, true), folder('Lists/dev'), folder('Lists/announce', undefined, true)];
  const include = rules({ include: [only('Lists', true), only('Lists/announce')] });
  t.deepEqual(decisions(effectiveFolders(folders, include, true)), {
    Lists: [false, 'not selectable'],
    'Lists/dev': [true, 'included by "Lists"'],
    'Lists/announce': [false, 'not selectable'],
  });
});

test('include list: only matching folders, subfolders only when asked', (t) => {
  const folders = ['INBOX', 'Archive', 'Archive/2023', 'Archive/2023/Q1', 'Archived', 'Other/Archive'].map((p) => folder(p));
  t.deepEqual(decisions(effectiveFolders(folders, rules({ include: [only('Archive')] }), true)), {
    INBOX: [false, 'not in include list'],
    Archive: [true, 'included by "Archive"'],
    'Archive/2023': [false, 'not in include list'],
    'Archive/2023/Q1': [false, 'not in include list'],
    Archived: [false, 'not in include list'],
    'Other/Archive': [false, 'not in include list'],
  });
  t.deepEqual(decisions(effectiveFolders(folders, rules({ include: [only('Archive', true)] }), true)), {
    INBOX: [false, 'not in include list'],
    Archive: [true, 'included by "Archive"'],
    'Archive/2023': [true, 'included by "Archive"'],
    'Archive/2023/Q1': [true, 'included by "Archive"'],
    Archived: [false, 'not in include list'],
    'Other/Archive': [false, 'not in include list'],
  });
  // A child alone: its parent is not archived.
  t.deepEqual(decisions(effectiveFolders(folders, rules({ include: [only('Archive/2023')] }), true))['Archive'], [false, 'not in include list']);
});

test('names are case-sensitive, except INBOX', (t) => {
  const folders = [folder('INBOX'), folder('INBOX/Work'), folder('Private'), folder('private')];
  const result = effectiveFolders(folders, rules({ include: [only('inbox', true)], exclude: [only('Private')] }), true);
  t.deepEqual(decisions(result), {
    INBOX: [true, 'included by "inbox"'],
    'INBOX/Work': [true, 'included by "inbox"'],
    Private: [false, 'excluded by "Private"'],
    private: [false, 'not in include list'],
  });
  // A server spelling it "Inbox" is the same mailbox.
  const odd = effectiveFolders([folder('Inbox'), folder('Inbox/Sub')], rules({ exclude: [only('INBOX/Sub')] }), true);
  t.deepEqual(decisions(odd), { Inbox: [true, 'included'], 'Inbox/Sub': [false, 'excluded by "INBOX/Sub"'] });
  // Only the first segment is special.
  const nested = effectiveFolders([folder('Work/INBOX')], rules({ include: [only('Work/inbox')] }), true);
  t.deepEqual(decisions(nested), { 'Work/INBOX': [false, 'not in include list'] });
});

test('exclude wins over include; manual examples', (t) => {
  // Example 1: leave the Inbox alone. Example 2: never archive "Private".
  const result = effectiveFolders(
    DOVECOT,
    rules({ include: [only('INBOX', true), only('Private', true)], exclude: [only('INBOX'), only('Private', true)] }),
    true,
  );
  t.deepEqual(decisions(result), {
    INBOX: [false, 'excluded by "INBOX"'],
    'INBOX/Projects': [true, 'included by "INBOX"'],
    Sent: [false, 'not in include list'],
    Trash: [false, 'default exclusion (\\Trash)'],
    'Trash/Old': [false, 'inside default exclusion "Trash"'],
    Drafts: [false, 'default exclusion (\\Drafts)'],
    Junk: [false, 'default exclusion (\\Junk)'],
    Archive: [false, 'not in include list'],
    Outbox: [false, 'default exclusion ("Outbox")'],
    Private: [false, 'excluded by "Private"'],
    'Private/Health': [false, 'excluded by "Private"'],
  });
});

test('default exclusions win over includes', (t) => {
  const result = effectiveFolders(DOVECOT, rules({ include: [only('Trash', true)] }), true);
  t.deepEqual(decisions(result)['Trash/Old'], [false, 'inside default exclusion "Trash"']);
});

test('regular expressions: unanchored, case-sensitive or not, against the "/"-joined path', (t) => {
  const folders = [folder('Folder1/Folder1.1'), folder('Folder1/Folder1.1/deeper'), folder('folder2/folder2.2'), folder('Misc')];
  // The manual's example, with "/" as the separator.
  const include = effectiveFolders(folders, rules({ include: [only('||Folder\\d/Folder\\d\\.\\d')] }), true);
  t.deepEqual(decisions(include), {
    'Folder1/Folder1.1': [true, 'included by "||Folder\\d/Folder\\d\\.\\d"'],
    'Folder1/Folder1.1/deeper': [true, 'included by "||Folder\\d/Folder\\d\\.\\d"'], // unanchored
    'folder2/folder2.2': [false, 'not in include list'],
    Misc: [false, 'not in include list'],
  });
  const insensitive = effectiveFolders(folders, rules({ include: [only('|i|^folder\\d/folder\\d\\.\\d$')] }), true);
  t.deepEqual(
    insensitive.filter((f) => f.archived).map((f) => f.path.join('/')),
    ['Folder1/Folder1.1', 'folder2/folder2.2'],
  );
  // Excluding the deeper levels, as the manual's second example does.
  const exclude = effectiveFolders(folders, rules({ exclude: [only('||Folder\\d/Folder\\d\\.\\d/\\w+')] }), true);
  t.deepEqual(decisions(exclude)['Folder1/Folder1.1/deeper'], [false, 'excluded by "||Folder\\d/Folder\\d\\.\\d/\\w+"']);
  t.true(decisions(exclude)['Folder1/Folder1.1']?.[0]);
});

test('regular expressions with subfolders also match below a matching ancestor', (t) => {
  const folders = [folder('Clients'), folder('Clients/Acme'), folder('Clients/Acme/2024')];
  const result = effectiveFolders(folders, rules({ exclude: [only('||^Clients/Acme$', true)] }), true);
  t.deepEqual(
    result.map((f) => f.archived),
    [true, false, false],
  );
  const noSub = effectiveFolders(folders, rules({ exclude: [only('||^Clients/Acme$')] }), true);
  t.deepEqual(
    noSub.map((f) => f.archived),
    [true, false, true],
  );
});

test('regex metacharacters in plain paths are literal', (t) => {
  const folders = [folder('a.b'), folder('axb'), folder('(x)'), folder('[Gmail]')];
  const result = effectiveFolders(folders, rules({ include: [only('a.b'), only('(x)'), only('[Gmail]')] }), true);
  t.deepEqual(result.map((f) => f.archived), [true, false, true, true]);
});

test('sent folders: SPECIAL-USE, explicit list, or names', (t) => {
  const folders = [folder('INBOX'), folder('Sent', '\\Sent'), folder('Sent Items'), folder('Outgoing/Copies'), folder('inbox/Sent by me')];
  const extra = rules({ sentFolders: ['Outgoing/Copies', 'INBOX/Sent by me', 'outgoing/copies'] });
  t.deepEqual(sent(effectiveFolders(folders, extra, true)), ['Sent', 'Outgoing/Copies', 'inbox/Sent by me']);
  // detectSent off: only the explicit list.
  t.deepEqual(sent(effectiveFolders(folders, { ...extra, detectSent: false }, true)), ['Outgoing/Copies', 'inbox/Sent by me']);
  // No SPECIAL-USE: names instead of the attribute.
  t.deepEqual(sent(effectiveFolders(folders, RULES, false)), ['Sent', 'Sent Items']);
  // Sent is reported even for folders that are not archived (Show Effective Folders shows both).
  const excluded = effectiveFolders(folders, rules({ exclude: [only('Sent')] }), true);
  t.deepEqual(excluded.find((f) => f.path[0] === 'Sent'), { path: ['Sent'], archived: false, sent: true, reason: 'excluded by "Sent"' });
});

test('special-use attributes compare case-insensitively', (t) => {
  const result = effectiveFolders([folder('Bin', '\\TRASH'), folder('Out', '\\sent')], RULES, true);
  t.deepEqual(decisions(result).Bin, [false, 'default exclusion (\\TRASH)']);
  t.deepEqual(sent(result), ['Out']);
});

test('invalid patterns throw RangeError naming the pattern', (t) => {
  t.throws(() => effectiveFolders(DOVECOT, rules({ include: [only('||(')] }), true), {
    instanceOf: RangeError,
    message: /folder pattern "\|\|\(": invalid regular expression/,
  });
  t.throws(() => effectiveFolders(DOVECOT, rules({ exclude: [only('a//b')] }), true), { instanceOf: RangeError });
});

test('hostile input: odd names, empty lists, the result does not alias the input', (t) => {
  t.deepEqual(effectiveFolders([], RULES, true), []);
  const weird = [
    folder('__proto__'),
    folder('constructor/toString'),
    { path: ['a/b'] }, // a "/" inside a segment (server delimiter ".")
    { path: ['x'.repeat(10_000)] },
    { path: ['\u0000', '🙂'] },
  ];
  const result = effectiveFolders(weird, rules({ include: [only('a/b'), only('__proto__')] }), false);
  t.deepEqual(result.map((f) => f.archived), [true, false, true, false, false]);
  const input = [folder('INBOX')];
  const output = effectiveFolders(input, RULES, true);
  output[0]?.path.push('mutated');
  t.deepEqual(input[0]?.path, ['INBOX']);
});
