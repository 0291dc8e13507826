// IMAP SEARCH from the index against imap-core's own matcher: real SpamAssassin messages and
// hand-written MIME edge cases go through the real ingest pipeline into a real store and index;
// for every query (parsed from a command string by imap-core) searchMailbox must return exactly the
// UIDs for which matchSearchQuery says true. Runs east of UTC on purpose: imap-core reads a
// criterion's date as local midnight, and the answers must follow it there too.
process.env.TZ = 'Asia/Tokyo';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { openCoffer, type Coffer } from '../../../src/app.js';
import { parseConfigText } from '../../../src/config/index.js';
import { ErrorCodes, isCofferError } from '../../../src/errors.js';
import { searchMailbox, type ImapSearchTerm } from '../../../src/imap/search.js';
import { corpusSample, oracleDefined, oracleMatches, oracleMessage, parseSearch, type OracleMessage } from './oracle.js';

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');
const utf8 = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

const LONG_RUN = 'Q7x'.repeat(30) + 'needleinthehaystack' + 'Z9k'.repeat(40);
const BASE64_TEXT = Buffer.from('Secret zebra payload, only in base64. '.repeat(4)).toString('base64').replace(/.{76}/g, '$&\r\n');

/** Hand-written edge cases, each with the internal date it is archived under. */
const FIXTURES: { raw: Buffer; received: string }[] = [
  {
    // Quoted-printable: a soft line break splits a word; encoded letters; `=` runs.
    raw: crlf(
      'From: QP Sender <qp@example.com>',
      'To: reader@example.org',
      'Subject: quoted printable test',
      'Date: Tue, 02 Jan 2024 23:30:00 -0500',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'This is a compli=',
      'cated word, caf=C3=A9 and =46ace value a=3Db.',
      '',
    ),
    received: '2024-01-03T04:30:00Z',
  },
  {
    // A base64 body: the matcher sees the encoded text, not the words.
    raw: crlf(
      'From: b64@example.com',
      'To: reader@example.org',
      'Subject: base64 body',
      'Date: Wed, 03 Jan 2024 10:00:00 +0000',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: base64',
      '',
      BASE64_TEXT,
      '',
    ),
    received: '2024-01-03T10:00:00Z',
  },
  {
    // Encoded-word subjects and display names; a word only in an X- header; a folded header.
    raw: crlf(
      'From: =?ISO-8859-1?Q?Andr=E9_Gr=FCn?= <andre@example.net>',
      'To: "Team, All" <team@example.org>, Other <other@example.org>',
      'Cc: copy@example.org',
      'Bcc: hidden@example.org',
      'Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?= and =?ISO-8859-1?Q?Caf=E9_Paris?=',
      'X-Secret-Tag: pumpernickel',
      'X-Folded: first part',
      '  second part',
      'Date: Thu, 04 Jan 2024 00:15:00 +0100',
      '',
      'Plain body without the tag.',
      '',
    ),
    received: '2024-01-04T00:15:00Z',
  },
  {
    // Mixed case, a word inside a longer one, punctuation, a long run of letters and digits.
    raw: crlf(
      'From: Mixed <MiXeD@Example.COM>',
      'To: reader@example.org',
      'Subject: MiXeD CaSe ZyZzYvA',
      'Date: Fri, 05 Jan 2024 12:00:00 +0000',
      '',
      'Antidisestablishmentarianism is long. a@@b and C++ and foo...bar -- end.',
      `Token: ${LONG_RUN}`,
      'The END',
      '',
    ),
    received: '2024-01-05T12:00:00Z',
  },
  {
    // multipart/alternative with HTML markup; no Date header at all.
    raw: crlf(
      'From: html@example.com',
      'To: reader@example.org',
      'Subject: alternative parts',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="alt-b0undary"',
      '',
      'Preamble text here.',
      '--alt-b0undary',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Plain version of the letter.',
      '--alt-b0undary',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><body><span class="hiddenclass">Rich version</span> <a href="http://tracker.example/x?id=42">link</a></body></html>',
      '--alt-b0undary--',
      'Epilogue text.',
      '',
    ),
    received: '2024-01-06T18:00:00Z',
  },
  {
    // 8-bit UTF-8 in header and body, Greek capitals, dotted capital I.
    raw: utf8(
      'From: Jörg Müller <joerg@example.de>',
      'To: reader@example.org',
      'Subject: Grüße ΟΔΟΣ İstanbul',
      'Date: Sat, 06 Jan 2024 08:00:00 +0000',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Straße und Grüße, ΟΔΟΣ and İstanbul.',
      '',
    ),
    received: '2024-01-06T08:00:00Z',
  },
  {
    // 8-bit Latin-1 header (not valid UTF-8), an attached message, a strange header line.
    raw: Buffer.concat([
      crlf('From: latin@example.com', 'To: reader@example.org', 'Subject: caf\xe9 cr\xe8me', 'X-Weird Name: odd value', 'Date: garbage date', 'MIME-Version: 1.0'),
      crlf(
        '',
        'Content-Type: multipart/mixed; boundary=mixb',
        '',
        '--mixb',
        'Content-Type: text/plain; charset=iso-8859-1',
        'Content-Transfer-Encoding: 8bit',
        '',
        'D\xe9j\xe0 vu.',
        '--mixb',
        'Content-Type: message/rfc822',
        '',
        'From: inner@example.com',
        'Subject: inner forwarded',
        '',
        'Inner body words.',
        '--mixb--',
        '',
      ),
    ]),
    received: '2024-01-07T00:00:00Z',
  },
  {
    // Two Date headers (imap-core cannot read them), bare LF line endings, an empty body.
    raw: Buffer.from('From: lf@example.com\nTo: reader@example.org\nSubject: line feeds only\nDate: Mon, 08 Jan 2024 10:00:00 +0000\nDate: Tue, 09 Jan 2024 10:00:00 +0000\n\n', 'latin1'),
    received: '2024-01-08T10:00:00Z',
  },
  {
    // No header at all.
    raw: crlf('', 'Only a body, money and more money.', ''),
    received: '2024-01-10T00:00:00Z',
  },
  {
    // Too long for the index to hold its text (imap-text.ts IMAP_TEXT_MAX_CHARS): always checked.
    raw: crlf('From: huge@example.com', 'Subject: huge', '', 'lorem ipsum dolor sit amet money '.repeat(36_000), 'tail end'),
    received: '2024-01-11T00:00:00Z',
  },
];

/** Queries checked on every folder: every criterion alone and combined. `$W`… stand for corpus words. */
const QUERIES = [
  'ALL',
  'TEXT money',
  'TEXT MONEY',
  'TEXT mone',
  'TEXT oney',
  'TEXT e',
  'TEXT the',
  'TEXT qwertyuiopzxcv',
  'TEXT pumpernickel',
  'TEXT establish',
  'TEXT needleinthehaystack',
  'TEXT Q7xQ7xQ7xQ7xQ7xQ7xQ7xQ7xQ7xQ7xQ7xQ7xQ7xQ7xQ7xneedle',
  'TEXT "x neede"',
  'TEXT "zyzzyva"',
  'TEXT compli',
  'TEXT complicated',
  'TEXT "cated word"',
  'TEXT caf',
  'TEXT "caf=c3"',
  'TEXT zebra',
  'TEXT "@@"',
  'TEXT "c++"',
  'TEXT "foo...bar"',
  'TEXT ...',
  'TEXT "--"',
  'TEXT " end."',
  'TEXT "the end"',
  'TEXT hiddenclass',
  'TEXT "href="',
  'TEXT alt-b0undary',
  'TEXT epilogue',
  'TEXT "preamble text"',
  'TEXT "content-type: text/plain"',
  'TEXT received',
  'TEXT "http://"',
  'TEXT ""',
  'TEXT "=?utf-8?b?"',
  'BODY money',
  'BODY pumpernickel',
  'BODY "mixed"',
  'BODY zebra',
  'BODY subject',
  'BODY inner',
  'BODY "rich version"',
  'BODY ""',
  'SUBJECT money',
  'SUBJECT mixed',
  'SUBJECT "case zyzz"',
  'SUBJECT caf',
  'SUBJECT "=?iso-8859-1?q?caf=e9_paris?="',
  'SUBJECT paris',
  'SUBJECT ""',
  'SUBJECT re:',
  'SUBJECT "!!"',
  'FROM example',
  'FROM mixed@example.com',
  'FROM andre',
  'FROM gr',
  'TO reader',
  'TO "team, all"',
  'CC copy',
  'BCC hidden',
  'HEADER X-Secret-Tag pumpernickel',
  'HEADER X-Secret-Tag ""',
  'HEADER X-Secret-Tag pumper',
  'HEADER X-Folded "second part"',
  'HEADER X-Folded part',
  'HEADER "X-Weird Name" odd',
  'HEADER X-Mailer ""',
  'HEADER Received from',
  'HEADER Message-ID "@"',
  'HEADER Content-Type multipart',
  'HEADER Nonexistent-Header ""',
  'SINCE 5-Jan-2024',
  'BEFORE 5-Jan-2024',
  'ON 4-Jan-2024',
  'ON 3-Jan-2024',
  'SINCE 1-Sep-2002',
  'BEFORE 1-Sep-2002',
  'SENTSINCE 4-Jan-2024',
  'SENTBEFORE 4-Jan-2024',
  'SENTON 3-Jan-2024',
  'SENTON 4-Jan-2024',
  'SENTSINCE 1-Sep-2002',
  'SENTBEFORE 1-Sep-2002',
  'LARGER 3000',
  'SMALLER 3000',
  'LARGER 0',
  'SMALLER 1',
  'UID 1:5',
  'UID 3,7:9,200:*',
  '1:10',
  '*',
  '2,4:6',
  'SEEN',
  'UNSEEN',
  'ANSWERED',
  'UNANSWERED',
  'NEW',
  'OLD',
  'RECENT',
  'DELETED',
  'UNDELETED',
  'DRAFT',
  'FLAGGED',
  'KEYWORD $Forwarded',
  'UNKEYWORD $Forwarded',
  'MODSEQ 5',
  'CHARSET UTF-8 TEXT money',
  'NOT TEXT money',
  'NOT NEW',
  'NOT SUBJECT ""',
  'OR SUBJECT money TEXT free',
  'OR TEXT pumpernickel BODY zebra',
  'OR NOT TEXT the SMALLER 2000',
  'TEXT money SUBJECT money',
  'TEXT money NOT BODY money',
  'TEXT money 1:50',
  'TEXT "@@" UID 1:40',
  'NOT OR TEXT click HEADER X-Mailer ""',
  'OR (SUBJECT re FROM com) (NOT LARGER 5000)',
  'SINCE 1-Sep-2002 BEFORE 1-Oct-2002 TEXT the',
  'SENTSINCE 1-Aug-2002 NOT TEXT money LARGER 1000',
];

interface Folder {
  id: number;
  uids: number[];
  messages: Map<number, OracleMessage>;
}

interface Fixture {
  coffer: Coffer;
  corpus: Folder;
  edge: Folder;
}

async function openFolder(coffer: Coffer, path: string[]): Promise<Folder> {
  const archive = await coffer.store.requireArchive('a');
  const folder = await coffer.store.getFolder(archive.id, path);
  if (!folder) throw new Error(`no folder ${path.join('/')}`);
  const uids: number[] = [];
  for await (const { uid } of coffer.store.entries(folder.id)) uids.push(uid);
  const messages = new Map<number, OracleMessage>();
  for (const uid of uids) messages.set(uid, await oracleMessage(coffer.store, folder.id, uid));
  return { id: folder.id, uids, messages };
}

let shared: Promise<Fixture> | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'coffer-imap-search-'));

test.after.always(async () => {
  try {
    if (shared) await (await shared).coffer.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** One store for the whole file: a few hundred corpus messages in Inbox, the edge cases in Edge. */
function fixture(): Promise<Fixture> {
  shared ??= (async () => {
    const config = parseConfigText(`dataDir: ${dataDir}\narchives:\n  - { name: a, address: a@example.com }\n`, { file: `${dataDir}/coffer.yaml` });
    const coffer = await openCoffer(config);
    const ingest = coffer.ingest();
    const corpus = await corpusSample(300);
    for (const [n, raw] of corpus.entries()) {
      await ingest.ingest({ raw, origin: `corpus#${n}`, routing: { kind: 'explicit', targets: [{ archive: 'a', folder: ['Inbox'] }] } });
    }
    for (const [n, { raw, received }] of FIXTURES.entries()) {
      await ingest.ingest({ raw, origin: `edge#${n}`, receivedAt: new Date(received), routing: { kind: 'explicit', targets: [{ archive: 'a', folder: ['Edge'] }] } });
    }
    return { coffer, corpus: await openFolder(coffer, ['Inbox']), edge: await openFolder(coffer, ['Edge']) };
  })();
  return shared;
}

/** The UIDs imap-core's matcher accepts, over the messages it can answer for. */
async function expected(folder: Folder, query: readonly ImapSearchTerm[]): Promise<number[]> {
  const uids: number[] = [];
  await Promise.all(
    folder.uids.map(async (uid) => {
      const message = folder.messages.get(uid)!;
      if (oracleDefined(message, query) && (await oracleMatches(message, query))) uids.push(uid);
    }),
  );
  return uids.sort((a, b) => a - b);
}

async function actual(coffer: Coffer, folder: Folder, query: readonly ImapSearchTerm[], uidList = folder.uids): Promise<number[]> {
  const uids = await searchMailbox({ store: coffer.store, index: coffer.index, folderId: folder.id, uidList }, query);
  return uids.filter((uid) => oracleDefined(folder.messages.get(uid)!, query));
}

/** Words of the corpus itself: from subjects and bodies of messages spread over the folder, some cut mid-word. */
function corpusQueries(folder: Folder): string[] {
  const queries: string[] = [];
  const picked = folder.uids.filter((_, i) => i % 29 === 3);
  for (const uid of picked) {
    const { mimeTree } = folder.messages.get(uid)!;
    const subject = String(mimeTree.parsedHeader.subject ?? '');
    const subjectWord = subject.split(/\s+/).find((word) => /^[a-z]{4,}$/i.test(word));
    const bodyWords = (mimeTree.childNodes?.[0]?.body || mimeTree.body || Buffer.alloc(0)).toString('latin1').match(/\b[a-z]{5,12}\b/gi) ?? [];
    const word = bodyWords[Math.floor(bodyWords.length / 2)];
    const next = bodyWords[Math.floor(bodyWords.length / 2) + 1];
    if (subjectWord) queries.push(`SUBJECT ${subjectWord}`, `TEXT ${subjectWord.slice(1, -1)}`);
    if (word) queries.push(`TEXT ${word}`, `BODY ${word.slice(0, -2)}`, `NOT TEXT ${word}`);
    if (word && next) queries.push(`TEXT "${word} ${next}"`, `OR TEXT ${word} SUBJECT ${next}`);
  }
  const fromLine = folder.messages.get(folder.uids[7]!)!.mimeTree.header.find((line) => /^from:/i.test(line)) ?? '';
  const from = fromLine.match(/[a-z0-9]{4,}/gi)?.[1] ?? 'from';
  queries.push(`FROM ${from}`, `FROM ${from.slice(1)}`);
  return queries;
}

async function checkAll(t: ExecutionContext, coffer: Coffer, folder: Folder, queries: readonly string[]): Promise<void> {
  for (const args of queries) {
    const query = parseSearch(args, folder.uids);
    t.deepEqual(await actual(coffer, folder, query), await expected(folder, query), `SEARCH ${args}`);
  }
}

test('every criterion, alone and combined, answers like imap-core on real corpus mail', async (t) => {
  const { coffer, corpus } = await fixture();
  t.true(corpus.uids.length >= 250);
  await checkAll(t, coffer, corpus, [...QUERIES, ...corpusQueries(corpus)]);
});

test('MIME edge cases: encodings, raw headers, markup, long runs, odd dates answer like imap-core', async (t) => {
  const { coffer, edge } = await fixture();
  t.is(edge.uids.length, FIXTURES.length);
  const edgeQueries = [
    ...QUERIES,
    'TEXT "\u00c3\u00a9"', // é as imap-core passes it (UTF-8 bytes as a binary string)
    'SUBJECT "gr\u00c3\u00bc\u00c3\u009fe"',
    'SUBJECT "caf\u00e9"',
    'SUBJECT "\u00e9 cr"',
    'TEXT "caf\u00e9"',
    `TEXT ${LONG_RUN.slice(5, 70)}`,
    `TEXT ${LONG_RUN.slice(100, 131)}`,
    `TEXT "token: ${LONG_RUN.slice(0, 40)}"`,
    `TEXT "${LONG_RUN.slice(-20)}"`,
    `TEXT ${BASE64_TEXT.slice(10, 16)}`,
    `TEXT ${BASE64_TEXT.slice(80, 120).replace(/[^a-z0-9]/gi, '')}`,
    'TEXT "d\u00e9j"',
    'BODY "vu."',
    'SUBJECT inner',
    'FROM inner',
  ];
  await checkAll(t, coffer, edge, edgeQueries);
  // Strings no quoted string can carry, as literals (imap-core hands them over as binary strings).
  for (const literal of ['first part\r\n  second', 'compli=\r\ncated', 'word, caf=c3=a9', '\r\n\r\n', 'caf\xe9 cr\xe8me']) {
    for (const key of ['TEXT', 'BODY', 'HEADER X-Folded', 'SUBJECT']) {
      const query = parseSearch(`${key} {${literal.length}}\r\n`, edge.uids, [Buffer.from(literal, 'latin1')]);
      t.deepEqual(await actual(coffer, edge, query), await expected(edge, query), `${key} ${JSON.stringify(literal)}`);
    }
  }
});

test('the edge cases mean what they say (imap-core and searchMailbox agree on these answers)', async (t) => {
  const { coffer, edge } = await fixture();
  // Fixture number (FIXTURES order) of each UID: the Edge folder was filled in that order.
  const fixtureOf = new Map(edge.uids.map((uid, i) => [uid, i]));
  const cases: [string, number[]][] = [
    ['TEXT compli', [0]],
    ['TEXT complicated', []], // split by a soft line break: the matcher reads the encoded text
    ['TEXT "=46ace"', [0]],
    ['TEXT zebra', []], // only in the base64 text
    [`TEXT ${BASE64_TEXT.slice(10, 16)}`, [1]],
    ['TEXT pumpernickel', [2]],
    ['BODY pumpernickel', []],
    ['SUBJECT paris', [2]],
    ['SUBJECT grüße', []],
    ['FROM andre', [2]],
    ['TEXT establish', [3]],
    ['TEXT needleinthehaystack', [3]],
    ['TEXT "@@"', [3]],
    ['TEXT hiddenclass', [4]],
    ['TEXT epilogue', [4]],
    // Not 6 and 7, whose Date headers imap-core cannot read.
    ['SENTSINCE 1-Jan-2000', [0, 1, 2, 3, 4, 5, 8, 9]],
    ['TEXT "tail end"', [9]],
    ['BODY ipsum', [9]],
    ['HEADER "X-Weird Name" odd', [6]],
    ['TEXT inner', [6]],
    ['TEXT "only a body"', [8]],
  ];
  for (const [args, fixtures] of cases) {
    const query = parseSearch(args, edge.uids);
    const oracle = (await expected(edge, query)).map((uid) => fixtureOf.get(uid));
    t.deepEqual(oracle, fixtures, `imap-core: SEARCH ${args}`);
    t.deepEqual((await actual(coffer, edge, query)).map((uid) => fixtureOf.get(uid)), fixtures, `searchMailbox: SEARCH ${args}`);
  }
});

test('SENT* criteria where imap-core has no answer use the last Date header, else the internal date', async (t) => {
  const { coffer, edge } = await fixture();
  const uidOf = (subject: string): number => [...edge.messages].find(([, m]) => m.raw.includes(subject))![0];
  const garbage = uidOf('Subject: caf'); // Date: garbage date; internal date 2024-01-07 (UTC)
  const twoDates = uidOf('line feeds only'); // Date headers 8 and 9 Jan 2024 (UTC)
  const search = (args: string): Promise<number[]> => searchMailbox({ store: coffer.store, index: coffer.index, folderId: edge.id, uidList: edge.uids }, parseSearch(args, edge.uids));
  // In Tokyo (UTC+9) imap-core reads `8-Jan-2024` as 2024-01-07T15:00Z, whose UTC day is the 7th.
  t.true((await search('SENTON 8-Jan-2024')).includes(garbage));
  t.true((await search('SENTON 10-Jan-2024')).includes(twoDates));
  t.false((await search('SENTON 9-Jan-2024')).includes(twoDates));
  t.true((await search('SENTBEFORE 11-Jan-2024 SENTSINCE 10-Jan-2024')).includes(twoDates));
});

// Serial: it counts the store reads of its own searches only.
test.serial('a word is answered from the index alone; other strings read only the candidates the index leaves', async (t) => {
  const { coffer, corpus } = await fixture();
  const { store } = coffer;
  const readRaw = store.readRaw.bind(store);
  let reads = 0;
  store.readRaw = (sha) => {
    reads++;
    return readRaw(sha);
  };
  try {
    const run = async (args: string): Promise<number> => {
      reads = 0;
      await searchMailbox({ store, index: coffer.index, folderId: corpus.id, uidList: corpus.uids }, parseSearch(args, corpus.uids));
      return reads;
    };
    for (const args of ['TEXT money', 'TEXT oney', 'BODY click', 'SUBJECT free', 'FROM example', 'NOT TEXT the', 'OR TEXT money SUBJECT free', 'SINCE 1-Sep-2002 LARGER 2000', 'SENTBEFORE 1-Sep-2002', 'HEADER X-Mailer ""']) {
      t.is(await run(args), 0, args);
    }
    const phrase = await run('TEXT "free money"');
    const matching = (await expected(corpus, parseSearch('TEXT free TEXT money', corpus.uids))).length;
    t.true(phrase <= matching, `a phrase reads at most the messages holding both words (${phrase} ≤ ${matching})`);
    t.is(await run('TEXT "@@"'), corpus.uids.length, 'punctuation alone is checked everywhere');
  } finally {
    store.readRaw = readRaw;
  }
});

test('only UIDs of the session view are returned; one the folder does not hold matches no message criterion', async (t) => {
  const { coffer, corpus } = await fixture();
  const view = [...corpus.uids.slice(0, 20), 999_999];
  const search = (args: string): Promise<number[]> => searchMailbox({ store: coffer.store, index: coffer.index, folderId: corpus.id, uidList: view }, parseSearch(args, view));
  for (const args of ['TEXT the', 'TEXT ": "', 'NOT TEXT qwertyuiop', 'LARGER 10', 'SINCE 1-Jan-1990', 'SENTSINCE 1-Jan-1990']) {
    const uids = await search(args);
    t.true(uids.length > 0 && uids.every((uid) => corpus.uids.slice(0, 20).includes(uid)), args);
  }
  // Criteria on the view alone (ALL, flags, UIDs) answer for the view as the session holds it.
  t.deepEqual(await search('ALL'), view);
  t.deepEqual(await search('UID 5:*'), view.filter((uid) => uid >= 5));
});

test('imap-core parses command strings into the criteria searchMailbox takes', (t) => {
  const uids = [3, 5, 8, 13];
  const parse = (args: string): ImapSearchTerm[] => parseSearch(args, uids);
  t.deepEqual(parse('TEXT "hello world"'), [{ key: 'text', value: 'hello world' }]);
  t.deepEqual(parse('SUBJECT Foo'), [{ key: 'header', header: 'subject', value: 'Foo' }]);
  t.deepEqual(parse('HEADER X-Spam-Flag ""'), [{ key: 'header', header: 'x-spam-flag', value: '' }]);
  t.deepEqual(parse('NEW'), [
    { key: 'flag', value: '\\Recent', exists: true },
    { key: 'flag', value: '\\Seen', exists: false },
  ]);
  t.deepEqual(parse('NOT SEEN'), [{ key: 'not', value: { key: 'flag', value: '\\Seen', exists: true } }]);
  t.deepEqual(parse('OR SEEN TEXT x'), [{ key: 'or', value: [[{ key: 'flag', value: '\\Seen', exists: true }], { key: 'text', value: 'x' }] }]);
  t.deepEqual(parse('2:3'), [{ key: 'uid', value: [5, 8] }]);
  t.deepEqual(parse('UID 5:*'), [{ key: 'uid', value: [5, 8, 13] }]);
  t.deepEqual(parse('SINCE 1-Feb-2024 SENTBEFORE 2-Mar-2024'), [
    { key: 'internaldate', operator: '>=', value: '1-Feb-2024' },
    { key: 'date', operator: '<', value: '2-Mar-2024' },
  ]);
  t.deepEqual(parse('LARGER 100 SMALLER 200'), [
    { key: 'size', operator: '>', value: 100 },
    { key: 'size', operator: '<', value: 200 },
  ]);
  t.deepEqual(parse('KEYWORD $Label1 CHARSET UTF-8 ALL MODSEQ 7'), [
    { key: 'flag', value: '$Label1', exists: true },
    { key: 'charset', value: 'UTF-8' },
    { key: 'all', value: true },
    { key: 'modseq', value: 7 },
  ]);
  // A literal arrives as a binary string: UTF-8 text as its bytes, one character each.
  t.deepEqual(parseSearch('TEXT {3}\r\n', uids, [Buffer.from('hé')]), [{ key: 'text', value: 'h\u00c3\u00a9' }]);
  t.throws(() => parse('FOO'), { message: /Unknown search term/ });
});

test('criteria Coffer cannot answer are refused with INVALID_ARGUMENT', async (t) => {
  const { coffer, edge } = await fixture();
  const search = (query: readonly ImapSearchTerm[]): Promise<number[]> => searchMailbox({ store: coffer.store, index: coffer.index, folderId: edge.id, uidList: edge.uids }, query);
  const refused = async (query: readonly ImapSearchTerm[], message: RegExp): Promise<void> => {
    const err = await t.throwsAsync(search(query));
    t.true(isCofferError(err, ErrorCodes.InvalidArgument), String(err));
    t.regex(err?.message ?? '', message);
  };
  await refused(parseSearch('CHARSET ISO-8859-1 TEXT x', edge.uids), /charset/i);
  await refused(parseSearch('SINCE 0-Jan-2024', edge.uids), /date/);
  t.deepEqual(await search(parseSearch('CHARSET us-ascii TEXT "@@"', edge.uids)), await expected(edge, parseSearch('TEXT "@@"', edge.uids)));
});
