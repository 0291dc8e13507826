// Worker-thread entry: receives raw messages, answers with prepared content (new messages) or only
// their search index payload (messages already stored, being indexed again). Started only by
// worker-pool.ts; the encryption key arrives in workerData, never through the environment.
import { parentPort, workerData } from 'node:worker_threads';
import { createSealer } from '../store/sealing.js';
import { prepareContent, prepareIndexPayload } from './prepare.js';

interface Request {
  id: number;
  kind: 'prepare' | 'index';
  raw: Uint8Array;
  envelopeRecipients?: string[];
}

const { key } = workerData as { key: Uint8Array | null };
const sealer = createSealer(key ? Buffer.from(key) : null);

parentPort?.on('message', ({ id, kind, raw, envelopeRecipients }: Request) => {
  try {
    const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const result = kind === 'index' ? prepareIndexPayload(bytes, envelopeRecipients) : prepareContent(bytes, sealer, envelopeRecipients);
    parentPort?.postMessage({ id, result });
  } catch (err) {
    parentPort?.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
