// Compression choice for stored messages: ratio and single-core speed of Brotli at several
// qualities and of deflate (gzip level 6) on the SpamAssassin corpus, message by message as the
// store seals them (postmark lines removed). Backs the Brotli-quality-5 choice in src/store/sealing.ts.
// Run: node --import=tsx bench/compression.ts

import { readFile } from 'node:fs/promises';
import { brotliCompressSync, constants, deflateSync } from 'node:zlib';
import { corpusFiles, splitPostmark } from './corpus.js';

interface Codec {
  name: string;
  compress: (plain: Buffer) => Buffer;
}

const brotli = (quality: number): Codec => ({
  name: `brotli q${quality}`,
  compress: (plain) =>
    brotliCompressSync(plain, {
      params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: plain.length },
    }),
});

export async function measureCompression(): Promise<{ codec: string; ratio: number; mbPerSecond: number }[]> {
  const messages: Buffer[] = [];
  for (const file of await corpusFiles()) messages.push(splitPostmark(await readFile(file)).message);
  const raw = messages.reduce((sum, m) => sum + m.length, 0);
  const codecs: Codec[] = [{ name: 'deflate 6', compress: (plain) => deflateSync(plain, { level: 6 }) }, brotli(4), brotli(5), brotli(6), brotli(9)];
  const results = [];
  for (const codec of codecs) {
    let out = 0;
    const started = performance.now();
    for (const message of messages) out += codec.compress(message).length;
    const seconds = (performance.now() - started) / 1000;
    results.push({ codec: codec.name, ratio: Number((out / raw).toFixed(3)), mbPerSecond: Number((raw / 1e6 / seconds).toFixed(1)) });
  }
  return results;
}

for (const r of await measureCompression()) {
  process.stdout.write(`${r.codec.padEnd(10)}  compressed/raw ${(r.ratio * 100).toFixed(1)}%  ${r.mbPerSecond} MB/s\n`);
}
