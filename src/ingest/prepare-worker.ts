// Worker-thread entry: receives raw messages, answers with prepared content. Started only by
// worker-pool.ts; the encryption key arrives in workerData, never through the environment.
import { parentPort, workerData } from 'node:worker_threads';
import { createSealer } from '../store/sealing.js';
import { prepareContent } from './prepare.js';

interface Request {
  id: number;
  raw: Uint8Array;
}

const { key } = workerData as { key: Uint8Array | null };
const sealer = createSealer(key ? Buffer.from(key) : null);

parentPort?.on('message', ({ id, raw }: Request) => {
  try {
    const result = prepareContent(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), sealer);
    parentPort?.postMessage({ id, result });
  } catch (err) {
    parentPort?.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
