// The search engine end to end in one process: messages go through the real ingest pipeline
// (worker threads, LevelDB on disk), queries through coffer.search. Each manual example is checked
// against messages built to match it and messages built to almost match it.
import test from 'ava';
import { openCoffer, type Coffer } from '../../../src/app.js';
import { parseConfigText } from '../../../src/config/index.js';
import { isCofferError } from '../../../src/errors.js';
import { viewEnvelope } from '../../../src/mime/envelope-view.js';
import { searchFolder, type SearchRequest } from '../../../src/search/search.js';
import { message, tempDir } from '../helpers.js';

const CONFIG = `
archives:
  - { name: a, address: a@example.com }
  - { name: b, address: b@example.com }
users:
  - { name: alice, passwordHash: "scrypt$x", archives: { a: read } }
  - { name: bob, passwordHash: "scrypt$x", role: admin, archives: { b: read } }
  - { name: carol, passwordHash: "scrypt$x", role: auditor }
`;

function multipart(headers: string, parts: { type: string; name?: string; body: string; encoding?: string }[]): Buffer {
  const boundary = 'b0und4ry';
  const lines = [headers, 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`, ''];
  for (const part of parts) {
    lines.push(`--${boundary}`, `Content-Type: ${part.type}${part.name ? `; name="${part.name}"` : ''}`);
    if (part.name) lines.push(`Content-Disposition: attachment; filename="${part.name}"`);
    if (part.encoding) lines.push(`Content-Transfer-Encoding: ${part.encoding}`);
    lines.push('', part.body);
  }
  lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join('\r\n'));
}

const header = (from: string, to: string, subject: string, date = 'Mon, 01 Jan 2024 10:00:00 +0000'): string =>
  [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Date: ${date}`, `Message-ID: <${subject.replace(/\W/g, '')}.${from.length}@test>`].join('\r\n');

/** Fixture messages by name; every name is also in its subject so results can be named. */
const FIXTURES: Record<string, Buffer> = {
  auto: message({ subject: 'auto Automatic automobile', body: 'cars' }),
  autumn: message({ subject: 'autumn leaves', body: 'trees' }),
  invoice: multipart(header('Billing <billing@example.com>', 'me <myaddress@company.tld>', 'invoice October'), [
    { type: 'text/plain', body: 'See attached.' },
    { type: 'text/plain', name: 'statement.txt', body: 'Your bill for October' },
  ]),
  admonition: multipart(header('Billing <billing@example.com>', 'me <myaddress@company.tld>', 'admonition overdue'), [
    { type: 'text/plain', body: 'Pay now.' },
    { type: 'text/plain', name: 'reminder.txt', body: 'An unpaid bill' },
  ]),
  billbody: message({ from: 'billing@example.com', to: 'myaddress@company.tld', subject: 'billbody note', body: 'the bill is in the body, not attached' }),
  windows: message({ subject: 'windows', body: 'We run Microsoft Windows here.' }),
  works: message({ subject: 'works', body: 'Microsoft Works and Windows 95 are old.' }),
  meier: message({ from: 'Hans Meier <hans@x.de>', subject: 'meier' }),
  meyer: message({ from: 'Eva Meyer <eva@x.de>', subject: 'meyer' }),
  maier: message({ from: 'Max Maier <max@x.de>', subject: 'maier' }),
  zdtip: message({ from: 'ZDNet <news@zdnet.com>', subject: 'zdtip Daily Update', body: 'Your download-tip of the day' }),
  zdnews: message({ from: 'ZDNet <news@zdnet.com>', subject: 'zdnews weekly', body: 'MailStore reviewed' }),
  zdmention: message({ from: 'someone@else.org', subject: 'zdmention', body: 'I read ZDNet and MailStore news' }),
  recruit1: message({ to: 'recruiting@example.com', subject: 'recruit1', body: 'we need sales people' }),
  recruit2: message({ to: 'recruiting@example.com', subject: 'recruit2', body: 'an engineer applies' }),
  address: message({ to: 'firstname.lastname@example.com', subject: 'address', body: 'hi' }),
  otherdomain: message({ to: 'someone@notexample.org', subject: 'otherdomain', body: 'example com' }),
  copies: message({ subject: 'copies', extra: 'Cc: lisa@mailstore.com\r\nBcc: customers@mailstore.com', body: 'news' }),
  umlaut: message({ subject: 'umlaut Grüße von Jörg Müller', body: 'Straße' }),
  html: Buffer.from(
    [header('x@y.z', 'a@example.com', 'html page'), 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', '<p>Hello <b>Welt</b> &amp; Caf&eacute;</p><script>var hiddenscript = 1</script>', ''].join('\r\n'),
  ),
  report: multipart(header('x@y.z', 'a@example.com', 'report quarterly numbers'), [
    { type: 'text/plain', body: 'Numbers attached' },
    { type: 'application/pdf', name: 'Quarterly-Report.pdf', body: 'JVBERi0xLjQK', encoding: 'base64' },
  ]),
  urgent: message({ subject: 'urgent high priority', extra: 'X-Priority: 1 (Highest)', date: 'Fri, 15 Mar 2024 10:00:00 +0000' }),
  lowprio: message({ subject: 'lowprio later', extra: 'X-Priority: 5', date: 'Sat, 01 Jun 2024 10:00:00 +0000' }),
  big: message({ subject: 'big message', body: 'x '.repeat(20_000) }),
  project: message({ subject: 'project plan', body: 'milestones' }),
};

interface Fixture {
  coffer: Coffer;
}

async function withCoffer(t: import('ava').ExecutionContext, run: (fixture: Fixture) => Promise<void>, extra = ''): Promise<void> {
  const dataDir = tempDir(t);
  const config = parseConfigText(`dataDir: ${dataDir}\n${CONFIG}${extra}`, { file: `${dataDir}/coffer.yaml` });
  const coffer = await openCoffer(config);
  try {
    const ingest = coffer.ingest();
    for (const [name, raw] of Object.entries(FIXTURES)) {
      const folder = name === 'project' ? ['Inbox', 'Projects'] : ['Inbox'];
      await ingest.ingest({ raw, origin: name, routing: { kind: 'explicit', targets: [{ archive: 'a', folder }] } });
    }
    await ingest.ingest({ raw: message({ subject: 'barchive only in b', body: 'bee' }), origin: 'b', routing: { kind: 'explicit', targets: [{ archive: 'b', folder: ['Inbox'] }] } });
    await run({ coffer });
  } finally {
    await coffer.close();
  }
}

/** The fixture names (first subject word) of every result, sorted. */
async function names(coffer: Coffer, query: string | SearchRequest): Promise<string[]> {
  const request = typeof query === 'string' ? { query, limit: 1000 } : { limit: 1000, ...query };
  const response = await coffer.search(request);
  if (response.total !== response.results.length) throw new Error(`total ${response.total} but ${response.results.length} results`);
  return response.results.map((hit) => hit.subject.split(' ')[0]!.toLowerCase()).sort();
}

test('every quick-search form of the manual finds what it says, and nothing else', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    const expect = async (query: string, expected: string[]): Promise<void> => {
      t.deepEqual(await names(coffer, query), [...expected].sort(), query);
    };
    // Word fragments, unknown letters, phrases.
    await expect('auto*', ['auto']);
    await expect('*company.tld', ['admonition', 'billbody', 'invoice']);
    await expect('to:*example.com', ['address', 'html', 'recruit1', 'recruit2', 'report']);
    await expect('firstname.lastname*', ['address']);
    await expect('Me?er', ['meier', 'meyer']);
    await expect('"Microsoft Windows"', ['windows']);
    // Fields.
    await expect('subject:autumn', ['autumn']);
    await expect('from:billing@example.com', ['admonition', 'billbody', 'invoice']);
    await expect('to:recruiting@example.com', ['recruit1', 'recruit2']);
    await expect('cc:lisa@mailstore.com', ['copies']);
    await expect('bcc:customers@mailstore.com', ['copies']);
    await expect('bcontent:MailStore', ['zdmention', 'zdnews']);
    await expect('acontent:bill', ['admonition', 'invoice']);
    await expect('attachment:quarterly', ['report']);
    // Exclusions and combinations.
    await expect('ZDNet -download-tip', ['zdmention', 'zdnews']);
    await expect('ZDNET -"Daily Update"', ['zdmention', 'zdnews']);
    await expect('from:ZDNET bcontent:MailStore', ['zdnews']);
    await expect('from:billing@example.com acontent:bill', ['admonition', 'invoice']);
    await expect('to:recruiting@example.com -sales', ['recruit2']);
    await expect('from:billing@example.com to:myaddress@company.tld acontent:bill -subject:admonition', ['invoice']);
  });
});

test('compound words are found whole and by their parts; case and diacritics are folded', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    for (const query of ['firstname', 'lastname', 'example.com', 'firstname.lastname@example.com', 'FirstName.LastName']) {
      t.true((await names(coffer, query)).includes('address'), query);
    }
    t.false((await names(coffer, 'firstname.lastname@example.com')).includes('otherdomain'));
    t.deepEqual(await names(coffer, 'download-tip'), ['zdtip']);
    for (const query of ['Müller', 'muller', 'MÜLLER', 'jorg', 'strasse', 'Grüße']) t.deepEqual(await names(coffer, query), ['umlaut'], query);
  });
});

test('HTML is indexed as its text; scripts are not', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    t.deepEqual(await names(coffer, 'cafe welt'), ['html']);
    t.deepEqual(await names(coffer, 'hiddenscript'), []);
    t.deepEqual(await names(coffer, 'bcontent:"hello welt"'), ['html']);
  });
});

test('advanced criteria: folder with and without subfolders, dates, size, attachments, priority', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    t.deepEqual(await names(coffer, { query: 'project', folder: 'Inbox' }), ['project']);
    t.deepEqual(await names(coffer, { query: 'project', folder: 'Inbox', includeSubfolders: false }), []);
    t.deepEqual(await names(coffer, { query: 'project', folder: 'Inbox/Projects' }), ['project']);
    t.deepEqual(await names(coffer, { query: '', since: new Date('2024-03-01'), before: new Date('2024-07-01') }), ['lowprio', 'urgent']);
    t.deepEqual(await names(coffer, { query: 'later', before: new Date('2024-03-01') }), []);
    t.deepEqual(await names(coffer, { query: '', criteria: { op: 'size', min: 30_000 } }), ['big']);
    t.deepEqual(await names(coffer, { query: 'numbers', criteria: { op: 'attachments', present: true } }), ['report']);
    t.deepEqual(await names(coffer, { query: 'numbers', criteria: { op: 'attachments', present: false } }), []);
    t.deepEqual(await names(coffer, { query: '', criteria: { op: 'priority', levels: ['high'] } }), ['urgent']);
    t.deepEqual(await names(coffer, { query: '', criteria: { op: 'priority', levels: ['low'] } }), ['lowprio']);
    const day = 24 * 3600 * 1000;
    t.is((await coffer.search({ query: '', criteria: { op: 'archived', since: Date.now() - day } })).total, Object.keys(FIXTURES).length + 1);
    t.is((await coffer.search({ query: '', criteria: { op: 'archived', before: Date.now() - day } })).total, 0);
  });
});

test('the query tree: OR, NOT, UID ranges and listing tests combine with text', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    const subject = (word: string) => ({ op: 'text' as const, fields: ['subject' as const], match: { kind: 'word' as const, word } });
    t.deepEqual(await names(coffer, { query: { op: 'or', items: [subject('meier'), subject('maier')] } }), ['maier', 'meier']);
    t.deepEqual(await names(coffer, { query: { op: 'and', items: [{ op: 'uid', ranges: [[1, 2]] }, { op: 'not', item: subject('auto') }] }, archive: 'a', folder: 'Inbox', includeSubfolders: false }), ['autumn']);
    t.deepEqual(await names(coffer, { query: { op: 'or', items: [subject('meier'), { op: 'listing', test: (_folder, uid) => uid === 1 }] }, archive: 'a', folder: 'Inbox', includeSubfolders: false }), ['auto', 'meier']);
  });
});

test('searchFolder answers a query tree with the matching UIDs of one folder (IMAP SEARCH)', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    const archive = await coffer.store.requireArchive('a');
    const inbox = await coffer.store.getFolder(archive.id, ['Inbox']);
    if (!inbox) throw new Error('no Inbox');
    const uids = await searchFolder(coffer.index, inbox.id, { op: 'text', fields: ['from'], match: { kind: 'prefix', prefix: 'billing' } });
    const subjects = await Promise.all(uids.map(async (uid) => viewEnvelope((await coffer.store.getMessage((await coffer.store.getEntry(inbox.id, uid))!.sha))!.envelope).subject.split(' ')[0]));
    t.deepEqual(subjects, ['invoice', 'admonition', 'billbody'], 'ascending UIDs, in import order');
    t.deepEqual(await searchFolder(coffer.index, inbox.id, { op: 'and', items: [{ op: 'uid', ranges: [[1, 3]] }, { op: 'not', item: { op: 'all' } }] }), []);
  });
});

test('results come only from archives the user may read', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    t.deepEqual(await names(coffer, { query: 'bee' }), ['barchive']);
    t.deepEqual(await names(coffer, { query: 'bee', user: 'alice' }), []);
    t.deepEqual(await names(coffer, { query: 'bee', user: 'bob' }), ['barchive']);
    t.deepEqual(await names(coffer, { query: 'meier', user: 'bob' }), [], 'an admin does not see other archives by default');
    t.deepEqual(await names(coffer, { query: 'meier', user: 'carol' }), ['meier']);
    t.deepEqual(await names(coffer, { query: 'meier', user: 'alice' }), ['meier']);
    const refused = await t.throwsAsync(coffer.search({ query: 'bee', user: 'alice', archive: 'b' }));
    t.true(isCofferError(refused) && /no archive named "b" that user "alice" may read/.test(refused.message));
    await t.throwsAsync(coffer.search({ query: 'x', user: 'mallory' }), { message: /no user named "mallory"/ });
  });
});

test('with compliance.adminArchiveAccess an admin reads every archive', async (t) => {
  await withCoffer(
    t,
    async ({ coffer }) => {
      t.deepEqual(await names(coffer, { query: 'meier', user: 'bob' }), ['meier']);
    },
    'compliance: { adminArchiveAccess: true }\n',
  );
});

test('hostile queries get a clear error, never a crash or a scan', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    for (const query of ['"unclosed', '-', '*', 'x'.repeat(10_000), 'Me?', '?er']) {
      const err = await t.throwsAsync(coffer.search({ query }));
      t.true(isCofferError(err, 'QUERY_INVALID'), `${query.slice(0, 20)}: ${String(err)}`);
    }
    // A one-letter prefix over a large vocabulary is refused rather than expanded without bound.
    const many = await coffer.search({ query: 'a*' });
    t.true(many.total > 0);
  });
});

test('journal recipients known only from the envelope are searchable as bcc', async (t) => {
  await withCoffer(t, async ({ coffer }) => {
    await coffer.ingest().ingest({
      raw: message({ subject: 'journaled secret', to: 'visible@example.com' }),
      origin: 'smtp',
      routing: { kind: 'journal', endpointArchive: 'a', envelopeSender: 'x@y.z', envelopeRecipients: ['visible@example.com', 'hidden@example.com'] },
    });
    t.deepEqual(await names(coffer, 'bcc:hidden@example.com'), ['journaled']);
    t.deepEqual(await names(coffer, 'bcc:visible@example.com'), []);
    t.deepEqual(await names(coffer, 'to:visible@example.com'), ['journaled']);
  });
});
