// `coffer search` and `coffer reindex` as an administrator runs them: the JSON contract, newest
// first, the advanced criteria as options, a user's access, clear refusals of malformed queries
// (exit 2, the problem named), and the same answers whether the daemon runs or not.
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createTransport } from 'nodemailer';
import { cleanMessage, cofferJson, finished, freePort, runCoffer, spawnCoffer, tempDir, writeFiles, type SearchJson, type StatsReport } from './helpers.js';

async function setUp(t: import('ava').ExecutionContext): Promise<{ dir: string; config: string; dataDir: string; port: number }> {
  const dir = await tempDir(t, 'search');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'coffer.yaml');
  const port = await freePort();
  await writeFile(
    config,
    [
      `dataDir: ${JSON.stringify(dataDir)}`,
      'archives:',
      '  - { name: alice, address: alice@example.com }',
      '  - { name: bob, address: bob@example.com }',
      '  - { name: journal }',
      'users:',
      '  - { name: alice, passwordHash: "scrypt$x", archives: { alice: read } }',
      '  - { name: audrey, passwordHash: "scrypt$x", role: auditor }',
      'imap: { starttls: null, tls: null }',
      'smtp:',
      `  listen: ["127.0.0.1:${port}"]`,
      '  endpoints: [{ address: journal@archive.test, archive: journal, acceptAnyRecipient: true }]',
      '',
    ].join('\n'),
  );
  await writeFiles(join(dir, 'alice'), {
    '1.eml': cleanMessage(1, { subject: 'Quarterly budget review', body: 'The budget for Müller GmbH is attached.' }),
    '2.eml': cleanMessage(2, { subject: 'Lunch on Friday', body: 'Pizza or pasta?' }),
    '3.eml': cleanMessage(3, { subject: 'Budget approved', body: 'Approved by finance.' }),
  });
  await writeFiles(join(dir, 'bob'), { '4.eml': cleanMessage(4, { subject: 'Budget secrets of bob', body: 'confidential' }) });
  for (const archive of ['alice', 'bob']) {
    const imported = await runCoffer(['import', 'eml', join(dir, archive), '--archive', archive], { config });
    t.is(imported.code, 0, imported.stderr);
  }
  return { dir, config, dataDir, port };
}

test('search prints the JSON contract newest first, honours criteria and users, refuses bad queries', async (t) => {
  const { config } = await setUp(t);
  const budget = await cofferJson<SearchJson>(t, ['search', 'budget'], { config });
  t.is(budget.total, 3);
  t.deepEqual(
    budget.results.map((hit) => [hit.archive, hit.folder, hit.uid, hit.subject]),
    [
      ['bob', 'Inbox', 1, 'Budget secrets of bob'],
      ['alice', 'Inbox', 3, 'Budget approved'],
      ['alice', 'Inbox', 1, 'Quarterly budget review'],
    ],
  );
  t.deepEqual(Object.keys(budget.results[0]!).sort(), ['archive', 'date', 'folder', 'from', 'subject', 'uid']);
  t.is(budget.results[0]!.date, '2024-01-01T10:04:00.000Z');
  t.is(budget.results[0]!.from, 'Sender 4 <sender4@example.com>');

  t.is((await cofferJson<SearchJson>(t, ['search', 'budget', '--limit', '1'], { config })).results.length, 1);
  t.is((await cofferJson<SearchJson>(t, ['search', 'budget', '--user', 'alice'], { config })).total, 2);
  t.is((await cofferJson<SearchJson>(t, ['search', 'budget', '--user', 'audrey'], { config })).total, 3);
  t.is((await cofferJson<SearchJson>(t, ['search', 'budget', '--archive', 'bob'], { config })).total, 1);
  t.is((await cofferJson<SearchJson>(t, ['search', 'muller -lunch'], { config })).total, 1);
  t.is((await cofferJson<SearchJson>(t, ['search', 'budget', '--since', '2024-01-01T10:02:00Z'], { config })).total, 2);
  t.is((await cofferJson<SearchJson>(t, ['search', 'budget', '--before', '2024-01-01T10:02:00Z'], { config })).total, 1);
  t.is((await cofferJson<SearchJson>(t, ['search', '', '--folder', 'Inbox', '--max-size', '1KB'], { config })).total, 4);
  t.is((await cofferJson<SearchJson>(t, ['search', '', '--attachments'], { config })).total, 0);
  t.is((await cofferJson<SearchJson>(t, ['search', '', '--no-attachments', '--priority', 'normal'], { config })).total, 4);

  const human = await runCoffer(['search', 'subject:budget'], { config });
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout.toString(), /^date +from +to +subject +archive +folder +uid$/m);
  t.regex(human.stdout.toString(), /2024-01-01 10:03 +Sender 3 <sender3@example.com> +Alice <alice@example.com> +Budget approved +alice +Inbox +3/);
  t.regex(human.stdout.toString(), /^3 messages found$/m);

  for (const [query, problem] of [
    ['"unclosed phrase', /unclosed quote starting at character 1/],
    ['budget -', /- at character 8 must be followed by a word/],
    ['*', /\*/],
    ['x'.repeat(10_000), /longer than 1000 characters/],
  ] as const) {
    const refused = await runCoffer(['search', query], { config });
    t.is(refused.code, 2, `${query.slice(0, 20)}: ${refused.stderr}`);
    t.regex(refused.stderr, problem);
    t.notRegex(refused.stderr, /at .*\.ts:\d+/, 'no stack trace');
  }
  const stats = await cofferJson<StatsReport>(t, ['stats'], { config });
  t.deepEqual([stats.index.messages, stats.index.listings], [4, 4], 'stats reports what the index covers');

  const unknownUser = await runCoffer(['search', 'budget', '--user', 'mallory'], { config });
  t.is(unknownUser.code, 1);
  t.regex(unknownUser.stderr, /no user named "mallory"/);
  const badDate = await runCoffer(['search', 'budget', '--since', 'yesterday'], { config });
  t.is(badDate.code, 2);
  t.regex(badDate.stderr, /invalid date "yesterday"/);
});

test('search and reindex answer the same through the running daemon', async (t) => {
  const { dir, config, dataDir, port } = await setUp(t);
  const offline = await cofferJson<SearchJson>(t, ['search', 'budget -lunch'], { config });

  const daemon = spawnCoffer(['serve'], { config });
  const exited = finished(daemon);
  const socket = join(dataDir, 'control.sock');
  for (let i = 0; i < 200 && !(await stat(socket).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(await cofferJson<SearchJson>(t, ['search', 'budget -lunch'], { config }), offline);

  // Imported while the daemon runs: searchable at once.
  await writeFiles(join(dir, 'more'), { '5.eml': cleanMessage(5, { subject: 'Budget follow-up', body: 'next steps' }) });
  t.is((await runCoffer(['import', 'eml', join(dir, 'more'), '--archive', 'alice'], { config })).code, 0);
  t.is((await cofferJson<SearchJson>(t, ['search', 'follow-up'], { config })).total, 1);
  // Journaled over SMTP: searchable at once, Bcc recipients (known only from the envelope) as bcc.
  const transport = createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } });
  try {
    const info = await transport.sendMail({
      envelope: { from: 'sender9@example.com', to: ['journal@archive.test', 'alice@example.com', 'hidden@example.net'] },
      raw: cleanMessage(9, { subject: 'Budget leak', body: 'journaled' }),
    });
    t.regex(info.response, /^250/);
  } finally {
    transport.close();
  }
  const leaked = await cofferJson<SearchJson>(t, ['search', 'bcc:hidden@example.net'], { config });
  t.deepEqual(leaked.results.map((hit) => [hit.archive, hit.folder]).sort(), [['alice', 'Inbox'], ['journal', 'Inbox']]);
  t.is((await cofferJson<SearchJson>(t, ['search', 'bcc:alice@example.com'], { config })).total, 0, 'a To recipient is not a Bcc recipient');
  t.is((await cofferJson<SearchJson>(t, ['search', 'leak', '--user', 'alice'], { config })).total, 1, 'alice sees her copy only');

  const reindexed = await cofferJson<{ messages: number; listings: number }>(t, ['reindex'], { config });
  t.deepEqual([reindexed.messages, reindexed.listings], [6, 7]);
  t.is((await cofferJson<SearchJson>(t, ['search', 'budget'], { config })).total, 6);
  t.deepEqual(await cofferJson<SearchJson>(t, ['search', 'bcc:hidden@example.net'], { config }), leaked, 'the envelope survives a reindex');

  daemon.kill('SIGTERM');
  t.is((await exited).code, 0);
});
