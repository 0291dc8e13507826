// The direct writer of metadata FETCH responses must write exactly what imap-core's
// formatResponse and compiler write, for real corpus messages, any order of items, both text modes.
import test from 'ava';
import { createRequire } from 'node:module';
import { listItems } from '../../../src/imap/compile-structure.js';
import { isMetadataQuery, MetadataResponseWriter } from '../../../src/imap/metadata-response.js';
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
    t.true(isMetadataQuery(query));
    const writer = new MetadataResponseWriter(query, uidList);
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
        t.is(writer.response({ uid, flags: ['\\Seen'], internalDate, compiled }), expected);
      }
    }
  }
});

test('a UID outside the session view gets no response; sections and partials are not metadata', (t) => {
  const writer = new MetadataResponseWriter(queryOf(['UID']), [1, 2]);
  t.is(writer.response({ uid: 3, flags: [], internalDate: 0, compiled: { size: 1, envelope: '', bodystructure: '' } }), null);
  t.is(writer.response({ uid: 2, flags: [], internalDate: 0, compiled: { size: 1, envelope: '', bodystructure: '' } }), '* 2 FETCH (UID 2)');
  t.false(isMetadataQuery([{ item: 'body', path: '', type: 'content', original: {} } as FetchQueryItem]));
  t.false(isMetadataQuery([{ item: 'uid', original: {} }, { item: 'rfc822', original: {} }] as FetchQueryItem[]));
});
