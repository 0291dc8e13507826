// How long imap-core's MIME indexer takes (parse + BODYSTRUCTURE) on hostile message shapes: the
// original modules (fresh, unpatched copies) next to Coffer's linear replacements
// (src/vendor/linear-indexer.ts), at growing sizes. Quadratic time shows as ×16 per ×4 in size.
// The original is timed only up to --original-max lines/characters (it takes minutes beyond).
// CLI: node --import=tsx bench/hostile-mime.ts [--original-max 40000] [--max 400000]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { buildBodyStructure, parseMimeTree, type MimeNode } from '../src/vendor/imap-core.js';

type Parse = (raw: Buffer) => MimeNode | false;
type BodyStructureClass = new (tree: MimeNode, options: { upperCaseKeys: boolean; skipContentLocation: boolean }) => { create(): unknown[] };

const SHAPES: Record<string, (n: number) => string> = {
  'n spaces in Subject': (n) => `Subject: a${' '.repeat(n)}b\r\n\r\nx\r\n`,
  'n spaces in a Content-Type parameter': (n) => `Content-Type: text/plain; name="${' '.repeat(n)}x"\r\n\r\nx\r\n`,
  'To folded over n lines': (n) => `To: ${Array.from({ length: n }, (_, i) => `a${i}@b.c`).join(',\r\n ')}\r\n\r\nx\r\n`,
  'n Received headers': (n) => `${'Received: from a by b; Tue, 02 Jan 2024 08:00:00 +0100\r\n'.repeat(n)}\r\nx\r\n`,
  'n bare CRs in the body': (n) => `Subject: x\r\n\r\n${'\r'.repeat(n)}x\r\n`,
  'n Content-Type parameters': (n) => `Content-Type: text/plain; ${Array.from({ length: n }, (_, i) => `p${i}=a`).join(';')}\r\n\r\nx\r\n`,
};

function originals(): { parse: Parse; BodyStructure: BodyStructureClass } {
  const require = createRequire(import.meta.url);
  parseMimeTree(Buffer.from('Subject: load the patched modules first\r\n\r\n'));
  const paths = ['parse-mime-tree.js', 'body-structure.js'].map((file) => require.resolve(`@zone-eu/wildduck/imap-core/lib/indexer/${file}`));
  const patched = paths.map((path) => require.cache[path]);
  for (const path of paths) delete require.cache[path];
  const loaded = { parse: require(paths[0]!) as Parse, BodyStructure: require(paths[1]!) as BodyStructureClass };
  paths.forEach((path, i) => (require.cache[path] = patched[i]));
  return loaded;
}

function milliseconds(work: () => void): number {
  const started = performance.now();
  work();
  return performance.now() - started;
}

function main(): void {
  const { values } = parseArgs({ options: { 'original-max': { type: 'string', default: '40000' }, max: { type: 'string', default: '400000' } } });
  const originalMax = Number(values['original-max']);
  const max = Number(values.max);
  const original = originals();
  const sizes: number[] = [];
  for (let n = 10_000; n <= max; n *= 4) sizes.push(n);
  console.log(`| shape | ${sizes.map((n) => `n = ${n.toLocaleString('en')}`).join(' | ')} |`);
  console.log(`|---|${sizes.map(() => '---').join('|')}|`);
  for (const [name, make] of Object.entries(SHAPES)) {
    const cells = sizes.map((n) => {
      const raw = Buffer.from(make(n), 'latin1');
      const linear = milliseconds(() => buildBodyStructure(parseMimeTree(raw)));
      if (n > originalMax) return `${linear.toFixed(0)} ms`;
      const before = milliseconds(() => {
        const tree = original.parse(raw);
        if (tree) new original.BodyStructure(tree, { upperCaseKeys: true, skipContentLocation: false }).create();
      });
      return `${before.toFixed(0)} → ${linear.toFixed(0)} ms`;
    });
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
}

main();
