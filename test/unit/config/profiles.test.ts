// Archiving profile configuration: defaults, the keys each kind needs, and hostile values, each
// reported against the key to fix.
import test from 'ava';
import { ConfigError, parseConfigText } from '../../../src/config/index.js';

const ARCHIVES = 'archives: [{ name: alice, address: alice@example.com }, { name: catchall }]\n';

function problems(yaml: string): string[] {
  try {
    parseConfigText(ARCHIVES + yaml, { file: '/etc/coffer/c.yaml', env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((problem) => problem.replace(/^\/etc\/coffer\/c\.yaml:\d+:\d+ /, ''));
    throw err;
  }
  return [];
}

test('a mailbox profile gets its defaults: port by protocol and security, 300 s timeout, never delete', (t) => {
  const config = parseConfigText(`${ARCHIVES}profiles: [{ name: p, kind: mailbox, server: { host: mail.example.com, protocol: pop3, security: starttls }, user: u, password: { env: PW }, archive: alice }]`, {
    file: '/etc/coffer/c.yaml',
    env: {},
  });
  const profile = config.profiles[0]!;
  t.like(profile.server, { port: 110, timeout: 300_000, ignoreCertificateErrors: false });
  t.is(profile.delete, 'never');
  t.deepEqual(profile.filter, { archiveUnread: true });
  t.is(profile.parallel, 5);
});

test('paths in profiles resolve against the config file; ages and dates become values', (t) => {
  const config = parseConfigText(
    `${ARCHIVES}profiles: [{ name: p, kind: csv, server: { host: h }, csv: lists/a.csv, filter: { olderThan: { date: "2024-06-30T18:00", utc: true } }, delete: { afterArchived: 6mo } }, { name: q, kind: mailbox, server: { host: h }, user: u, password: { file: pw }, archive: alice }]`,
    { file: '/etc/coffer/c.yaml', env: {} },
  );
  t.is(config.profiles[0]!.csv, '/etc/coffer/lists/a.csv');
  t.deepEqual(config.profiles[0]!.filter.olderThan, { date: Date.UTC(2024, 5, 30, 18, 0) });
  t.deepEqual(config.profiles[0]!.delete, { afterArchived: { days: 0, months: 6 } });
  t.deepEqual(config.profiles[1]!.password, { file: '/etc/coffer/pw' });
});

test('each kind names what it lacks or does not use', (t) => {
  t.deepEqual(problems('profiles: [{ name: p, kind: mailbox, server: { host: h } }]'), [
    'profiles[0].user: required: the mailbox login',
    'profiles[0].password: required: the login password',
    'profiles[0].archive: required: the archive the mailbox is pulled into',
  ]);
  t.deepEqual(problems('profiles: [{ name: p, kind: csv, server: { host: h, protocol: pop3 }, csv: x.csv, user: u }]'), [
    'profiles[0].server.protocol: csv profiles pull IMAP mailboxes',
    'profiles[0].user: not used by csv profiles: logins come from the CSV file',
  ]);
  t.deepEqual(problems('profiles: [{ name: p, kind: multidrop, server: { host: h, protocol: pop3 }, user: u, password: x, filter: { archiveUnread: false } }]'), [
    'profiles[0].filter: filters need IMAP: POP3 has no read flags and no dates before download',
  ]);
});

test('hostile values: bad names, ports, regexes, cron, quiet hours, ages, dates, archives, duplicates', (t) => {
  const found = problems(`profiles:
  - { name: "a b", kind: mailbox, server: { host: h, port: 0 }, user: u, password: x, archive: alice }
  - name: p
    kind: mailbox
    server: { host: h, port: 70000 }
    user: u
    password: { env: "1BAD" }
    archive: nosuch
    folders: { exclude: ["||(unclosed"] }
    filter: { olderThan: { date: "2024-02-31" } }
    delete: { olderThan: 0d }
    schedule: { cron: "61 * * * *" }
  - { name: P, kind: multidrop, server: { host: h }, user: u, password: x, unknownAddresses: { archive: nope }, schedule: { every: 1h, quietHours: { from: "22:00", to: "22:00" } } }
`);
  const expected = [
    /^profiles\[0\]\.name: profile names are 1-64 characters/,
    /^profiles\[0\]\.server\.port: /,
    /^profiles\[1\]\.server\.port: /,
    /^profiles\[1\]\.password\.env: must be an environment variable name/,
    /^profiles\[1\]\.folders\.exclude\[0\]: invalid regular expression "\|\|\(unclosed"/,
    /^profiles\[1\]\.filter\.olderThan\.date: expected a date such as "2024-06-30"/,
    /^profiles\[1\]\.delete: /,
    /^profiles\[1\]\.schedule/,
    /^profiles\[1\]\.archive: archive "nosuch" is not configured/,
    /^profiles\[2\]\.name: duplicate profile name "P"/,
    /^profiles\[2\]\.unknownAddresses\.archive: archive "nope" is not configured/,
    /^profiles\[2\]\.schedule/,
  ];
  for (const pattern of expected) t.true(found.some((problem) => pattern.test(problem)), `${pattern} in ${JSON.stringify(found, null, 1)}`);
  t.false(found.some((problem) => problem.includes('password: x')));
});
