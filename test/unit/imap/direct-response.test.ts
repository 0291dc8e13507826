// The direct writer of metadata FETCH responses must write exactly what imap-core's
// formatResponse and compiler write, for real corpus messages, any order of items, both text modes.
import test from 'ava';
import { createRequire } from 'node:module';
import { listItems } from '../../../src/imap/compile-structure.js';
import { DirectResponseWriter, isDirectQuery } from '../../../src/imap/direct-response.js';
import { buildBodyStructure, buildEnvelope, parseMimeTree, type FetchQueryItem } from '../../../src/vendor/imap-core.js';
import { corpusSample } from './oracle.js';

const require = createRequire(import.meta.url);
process.env.DISABLE_WILD_CONFIG = 'true';
const tools = require('@zone-eu/wildduck/imap-core/lib/imap-tools.js') as {
  getQueryResponse(query: readonly FetchQueryItem[], message: Record<string, unknown>, options: { acceptUTF8Enabled: boolean }): unknown[];
};
const { IMAPConnection } = require('@zone-eu/wildduck/imap-core/lib/imap-connection.js') as {
  IMAPConnection: { prototype: { formatResponse(this: unknown, command: string, uid: number, data: unknown): unknown } };
};
const { compiler } = require('@zone-eu/wildduck/imap-core/lib/handler/imap-handler.js') as { compiler(response: unknown): string };

function joined(parts: (string | Buffer)[] | null): Buffer {
  return Buffer.concat((parts ?? []).map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part)));
}

function queryOf(names: readonly string[]): FetchQueryItem[] {
  return names.map((name) => ({ item: name.toLowerCase(), query: name, original: { type: 'ATOM', value: name } }) as FetchQueryItem);
}

const QUERIES = [
  ['UID', 'FLAGS', 'ENVELOPE', 'BODYSTRUCTURE', 'RFC822.SIZE'],
  ['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'MODSEQ'],
  ['BODYSTRUCTURE', 'UID'],
  ['FLAGS', 'UID'],
  ['uid', 'envelope'],
];

test('metadata responses are imap-core bytes for real mail, every item, both text modes', async (t) => {
  const messages = await corpusSample(300);
  const uidList = messages.map((_, i) => (i + 1) * 3);
  for (const names of QUERIES) {
    const query = queryOf(names);
    t.true(isDirectQuery(query));
    const writer = new DirectResponseWriter(query, uidList);
    for (const [i, raw] of messages.entries()) {
      const tree = parseMimeTree(raw);
      const uid = uidList[i]!;
      const internalDate = Date.UTC(2002, 7, 20, 1, 2, 3) + i * 86_400_123;
      for (const acceptUTF8Enabled of [true, false]) {
        const fresh = () => ({ envelope: buildEnvelope(tree), bodystructure: buildBodyStructure(tree) });
        const message = { uid, modseq: uid, flags: ['\\Seen'], idate: new Date(internalDate), size: raw.length, ...fresh() };
        const values = tools.getQueryResponse(query, message, { acceptUTF8Enabled });
        const expected = compiler(IMAPConnection.prototype.formatResponse.call({ selected: { uidList } }, 'FETCH', uid, { query, values }));
        const [envelope, bodystructure] = tools.getQueryResponse(queryOf(['ENVELOPE', 'BODYSTRUCTURE']), fresh(), { acceptUTF8Enabled }) as [unknown[], unknown[]];
        const compiled = { size: raw.length, envelope: listItems(envelope), bodystructure: listItems(bodystructure) };
        t.is(joined(writer.response({ uid, flags: ['\\Seen'], internalDate, compiled, raw: null })).toString('latin1'), expected);
      }
    }
  }
});

test('a UID outside the session view gets no response; sections are not written directly', (t) => {
  const writer = new DirectResponseWriter(queryOf(['UID']), [1, 2]);
  t.is(writer.response({ uid: 3, flags: [], internalDate: 0, compiled: null, raw: null }), null);
  t.is(joined(writer.response({ uid: 2, flags: [], internalDate: 0, compiled: null, raw: null })).toString(), '* 2 FETCH (UID 2)');
  t.false(isDirectQuery([{ item: 'body', path: '1', type: 'content', original: {} } as FetchQueryItem]));
  t.false(isDirectQuery([{ item: 'body', path: '', type: 'header', original: {} } as FetchQueryItem]));
  t.false(isDirectQuery([{ item: 'uid', original: {} }, { item: 'rfc822.header', original: {} }] as FetchQueryItem[]));
  t.true(isDirectQuery([{ item: 'uid', original: {} }, { item: 'rfc822', original: {} }] as FetchQueryItem[]));
});

test('whole-message items (BODY[], RFC822, partials) are written as imap-core writes their literals', async (t) => {
  const messages = await corpusSample(50);
  const uidList = messages.map((_, i) => i + 1);
  const body = (partial?: number[]) => ({ item: 'body', path: '', type: 'content', query: 'BODY[]', isLiteral: true, ...(partial ? { partial: { startFrom: partial[0]!, maxLength: partial[1]! } } : {}), original: { type: 'ATOM', value: 'BODY', section: [], ...(partial ? { partial: [...partial] } : {}) } }) as FetchQueryItem;
  const rfc822 = { item: 'rfc822', query: 'RFC822', isLiteral: true, original: { type: 'ATOM', value: 'RFC822' } } as FetchQueryItem;
  for (const query of [[body(), ...queryOf(['UID'])], [...queryOf(['UID', 'FLAGS']), rfc822], [body([10, 200]), ...queryOf(['UID'])]]) {
    t.true(isDirectQuery(query));
    const writer = new DirectResponseWriter(query, uidList);
    for (const [i, raw] of messages.entries()) {
      const uid = i + 1;
      // imap-core's own path, with the literal as a binary string (what on-fetch gives it).
      const values = query.map((item) => {
        if (item.item === 'uid') return uid;
        if (item.item === 'flags') return ['\\Seen'];
        const bytes = item.partial ? raw.subarray(item.partial.startFrom, item.partial.startFrom + item.partial.maxLength) : raw;
        return bytes.toString('latin1');
      });
      const expected = compiler(IMAPConnection.prototype.formatResponse.call({ selected: { uidList } }, 'FETCH', uid, { query, values }));
      t.is(joined(writer.response({ uid, flags: ['\\Seen'], internalDate: 0, compiled: null, raw })).toString('latin1'), expected);
    }
  }
  // The answer to a partial names only its origin.
  t.deepEqual(body([10, 200]).original.partial, [10, 200]);
  const partialQuery = [body([10, 200])];
  new DirectResponseWriter(partialQuery, uidList);
  t.deepEqual(partialQuery[0]!.original.partial, [10]);
});
