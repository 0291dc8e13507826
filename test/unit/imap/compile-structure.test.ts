// The one-pass ENVELOPE/BODYSTRUCTURE writer must produce exactly imap-core's bytes, for the
// structures ingest stores (built by imap-core itself from real corpus mail) and for the shapes
// getQueryResponse turns them into (encoded words, punycode) before FETCH writes them.
import test from 'ava';
import { createRequire } from 'node:module';
import { listItems } from '../../../src/imap/compile-structure.js';
import { buildBodyStructure, buildEnvelope, compileValue, parseMimeTree } from '../../../src/vendor/imap-core.js';
import { corpusSample } from './oracle.js';

const require = createRequire(import.meta.url);
process.env.DISABLE_WILD_CONFIG = 'true';
const { getQueryResponse } = require('@zone-eu/wildduck/imap-core/lib/imap-tools.js') as {
  getQueryResponse(query: { item: string }[], message: Record<string, unknown>, options: { acceptUTF8Enabled: boolean }): unknown[];
};

function viaImapCore(value: unknown[]): string {
  return compileValue(value);
}

/** As FETCH writes it: the compiled items as one TEXT node inside a list. */
function viaCoffer(value: unknown[]): string {
  return compileValue([{ type: 'TEXT', value: listItems(value) }]);
}

test('real corpus structures compile to imap-core bytes, with and without UTF8=ACCEPT', async (t) => {
  const messages = await corpusSample(400);
  let compared = 0;
  for (const raw of messages) {
    const tree = parseMimeTree(raw);
    for (const acceptUTF8Enabled of [true, false]) {
      // Fresh structures each time: getQueryResponse rewrites them in place.
      const message = { envelope: buildEnvelope(tree), bodystructure: buildBodyStructure(tree) };
      const [envelope, bodystructure] = getQueryResponse([{ item: 'envelope' }, { item: 'bodystructure' }], message, { acceptUTF8Enabled }) as [unknown[], unknown[]];
      const expected = [viaImapCore(envelope), viaImapCore(bodystructure)];
      t.deepEqual([viaCoffer(envelope), viaCoffer(bodystructure)], expected);
      compared += 2;
    }
  }
  t.true(compared >= 1600);
});

test('edge values: empty lists, nested lists first, numbers, NIL, quotes and control characters', (t) => {
  const cases: unknown[][] = [
    [],
    [[]],
    [['a'], ['b'], 'c', ['d']],
    [[['x', 1]], null, 0, 2.6, Number.NaN, ''],
    ['say "hi" \\ there', Buffer.from([0x00, 0x7f, 0xe9, 0x0d, 0x0a]), undefined, false],
    [{ type: 'ATOM', value: 'ATOM' }, { type: 'LITERAL', value: 'abc' }],
  ];
  for (const value of cases) t.is(viaCoffer(value), viaImapCore(value), JSON.stringify(value));
});
