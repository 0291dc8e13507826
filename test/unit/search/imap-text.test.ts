// The text IMAP SEARCH looks at and its index terms: the rebuilt message must be imap-core's own,
// byte for byte, and every word of the text must lie whole in some term, long runs included.
import { createRequire } from 'node:module';
import test from 'ava';
import { fieldNumber } from '../../../src/search/fields.js';
import { collectImapTerms, forEachImapTerm, forEachRun, headerBlock, IMAP_BODY_BITS, IMAP_HEADER_BITS, IMAP_PARTIAL_TERM, IMAP_TEXT_MAX_CHARS, IMAP_WORD_MAX, imapWords, rebuildMessage } from '../../../src/search/imap-text.js';
import { parseMimeTree, type MimeNode } from '../../../src/vendor/imap-core.js';
import { corpusSample } from '../imap/oracle.js';

interface Indexer {
  getContents(tree: MimeNode, selector: { type: string }, options: { skipExternal: boolean }): { type: string; value: NodeJS.ReadableStream };
}

function imapCoreIndexer(): Indexer {
  process.env.DISABLE_WILD_CONFIG = 'true';
  const IndexerClass = createRequire(import.meta.url)('@zone-eu/wildduck/imap-core/lib/indexer/indexer.js') as new () => Indexer;
  return new IndexerClass();
}

async function imapCoreContents(indexer: Indexer, tree: MimeNode, type: 'content' | 'text'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of indexer.getContents(tree, { type }, { skipExternal: true }).value) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const EDGE = [
  '',
  'no header line at all',
  'Subject: only a header',
  'Subject: x\r\n\r\n',
  'Subject: x\n\nLF only\nlines\n',
  'Content-Type: multipart/mixed; boundary=x\r\n\r\npreamble\r\n--x\r\n\r\none\r\n--x\r\nContent-Type: text/plain\r\n\r\ntwo\r\n--x--\r\nepilogue\r\n',
  'Content-Type: multipart/mixed; boundary="never"\r\n\r\nno boundary ever\r\n',
  'Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n',
  'Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/related; boundary=b\r\n\r\n--b\r\n\r\ndeep\r\n--b--\r\n--a--',
];

test('rebuildMessage is imap-core’s rebuild, and TEXT is the header block followed by BODY', async (t) => {
  const indexer = imapCoreIndexer();
  const messages = [...(await corpusSample(400)), ...EDGE.map((text) => Buffer.from(text, 'latin1'))];
  for (const raw of messages) {
    const tree = parseMimeTree(raw);
    const text = rebuildMessage(tree, false);
    const body = rebuildMessage(parseMimeTree(raw), true);
    if (!text.equals(await imapCoreContents(indexer, parseMimeTree(raw), 'content'))) t.fail(`TEXT differs for ${raw.subarray(0, 60).toString('latin1')}`);
    if (!body.equals(await imapCoreContents(indexer, parseMimeTree(raw), 'text'))) t.fail(`BODY differs for ${raw.subarray(0, 60).toString('latin1')}`);
    if (!text.equals(Buffer.concat([headerBlock(tree), body]))) t.fail(`TEXT is not header + BODY for ${raw.subarray(0, 60).toString('latin1')}`);
  }
  t.pass();
});

/** A pseudo-random generator with a seed, so failures repeat. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const PIECES = ['a', 'b', 'Z', '7', 'é', 'ß', 'Σ', '字', '😀', '𝐀', '\u0301', ' ', '-', '.', '\r\n', '\uD800', '\uDC00', '@'];

test('runs are the maximal matches of [\\p{L}\\p{N}]+, surrogate pairs and lone surrogates included', (t) => {
  const next = random(7);
  for (let i = 0; i < 2000; i++) {
    let text = '';
    for (let j = Math.floor(next() * 40); j > 0; j--) text += PIECES[Math.floor(next() * PIECES.length)];
    const runs: string[] = [];
    forEachRun(text, (start, end) => runs.push(text.slice(start, end)));
    t.deepEqual(runs, text.match(/[\p{L}\p{N}]+/gu) ?? [], JSON.stringify(text));
  }
});

test('every word of up to IMAP_WORD_MAX units inside a long run lies whole in one of its terms', (t) => {
  const next = random(11);
  const letters = ['a', 'b', 'c', '1', 'é', '𝐀', '字'];
  for (let i = 0; i < 60; i++) {
    let run = '';
    const length = 65 + Math.floor(next() * 250);
    while (run.length < length) run += letters[Math.floor(next() * letters.length)];
    const terms: string[] = [];
    forEachImapTerm(`x ${run} y`, (term) => terms.push(term));
    t.true(terms.every((term) => !/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(term)), 'no term splits a surrogate pair');
    t.true(terms[0] === 'x' && terms.at(-1) === 'y');
    t.true(terms.some((term) => run.startsWith(term)) && terms.some((term) => run.endsWith(term)), 'the run’s start and end are terms’ start and end');
    for (let start = 0; start < run.length; start++) {
      for (let size = 1; size <= IMAP_WORD_MAX && start + size <= run.length; size++) {
        const word = run.slice(start, start + size);
        if (!terms.some((term) => term.includes(word))) {
          t.fail(`${JSON.stringify(word)} at ${start} of a ${run.length}-unit run is in no term`);
          return;
        }
      }
    }
  }
});

test('search strings split into words with their boundaries; a lone surrogate gives none', (t) => {
  t.deepEqual(imapWords('foo'), [{ text: 'foo', boundedBefore: false, boundedAfter: false }]);
  t.deepEqual(imapWords(' foo.bar-'), [
    { text: 'foo', boundedBefore: true, boundedAfter: true },
    { text: 'bar', boundedBefore: true, boundedAfter: true },
  ]);
  t.deepEqual(imapWords('@@'), []);
  t.is(imapWords('a\uD800'), undefined);
  t.deepEqual(imapWords('😀x'), [{ text: 'x', boundedBefore: true, boundedAfter: false }]);
});

test('the IMAP terms of a message: header block, body, header names, and the values SUBJECT, FROM, TO, CC, BCC search', (t) => {
  // "Caf\xe9" in Latin-1, "Olé" in UTF-8.
  const raw = Buffer.concat([
    Buffer.from('From: Ann <ann@x.org>\r\nSubject: Caf\xe9 ', 'latin1'),
    Buffer.from('Olé\r\nX-Tag: Pumpernickel\r\nContent-Type: text/html\r\n\r\n<b>Bold</b> words\r\n', 'utf8'),
  ]);
  const terms = collectImapTerms(parseMimeTree(raw), raw);
  const fields = (term: string): string[] =>
    ['imap-header', 'imap-body', 'imap-header-name', 'imap-subject', 'imap-from', 'imap-to', 'imap-cc', 'imap-bcc'].filter((field) => ((terms.get(term) ?? 0) & (1 << fieldNumber(field as 'imap-body'))) !== 0);
  t.deepEqual(fields('pumpernickel'), ['imap-header']);
  t.deepEqual(fields('x-tag'), ['imap-header-name']);
  t.deepEqual(fields('subject'), ['imap-header', 'imap-header-name']);
  t.deepEqual(fields('ann'), ['imap-header', 'imap-from']);
  t.deepEqual(fields('b'), ['imap-body'], 'markup is body text as the matcher sees it');
  t.deepEqual(fields('bold'), ['imap-body']);
  // Header values as the matcher reads them (a byte a character), the header block as UTF-8.
  t.deepEqual(fields('café'), ['imap-subject']);
  t.deepEqual(fields('caf'), ['imap-header']);
  t.deepEqual(fields('olã'), ['imap-subject']);
  t.deepEqual(fields('olé'), ['imap-header']);
  t.false(terms.has(IMAP_PARTIAL_TERM));
  // Without the whole tree, what is missing is flagged for SEARCH to check the message itself.
  const headerOnly = collectImapTerms(parseMimeTree(raw.subarray(0, raw.indexOf('\r\n\r\n') + 4)), raw, false);
  t.deepEqual(headerOnly.get(IMAP_PARTIAL_TERM), IMAP_BODY_BITS);
  t.true(headerOnly.has('pumpernickel'));
  t.false(headerOnly.has('bold'));
  t.deepEqual([...collectImapTerms(null, raw)], [[IMAP_PARTIAL_TERM, IMAP_HEADER_BITS | IMAP_BODY_BITS]]);
});

test('a body too long to index is flagged, not indexed', (t) => {
  const raw = Buffer.from(`Subject: big\r\n\r\n${'word '.repeat(IMAP_TEXT_MAX_CHARS / 5 + 10)}`);
  const terms = collectImapTerms(parseMimeTree(raw), raw);
  t.is(terms.get(IMAP_PARTIAL_TERM), 1 << fieldNumber('imap-body'));
  t.false(terms.has('word'));
  t.true(terms.has('big'));
});
