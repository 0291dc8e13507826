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

/**
 * A copy that owns exactly its memory, to be transferred rather than cloned: structured clone
 * copies a view's whole underlying ArrayBuffer (for a small Buffer, Node's shared 8 KB pool), and
 * the main thread would hold that for as long as it holds the value.
 */
function owned(bytes: Buffer, transfer: ArrayBuffer[]): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  transfer.push(copy.buffer as ArrayBuffer);
  return copy;
}

parentPort?.on('message', ({ id, kind, raw, envelopeRecipients }: Request) => {
  try {
    const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const transfer: ArrayBuffer[] = [];
    if (kind === 'index') {
      const payload = prepareIndexPayload(bytes, envelopeRecipients);
      parentPort?.postMessage({ id, result: { ...payload, terms: owned(payload.terms, transfer) } }, transfer);
      return;
    }
    const content = prepareContent(bytes, sealer, envelopeRecipients);
    const result = {
      ...content,
      sha: owned(content.sha, transfer),
      sealedBlob: owned(content.sealedBlob, transfer),
      sealedMeta: owned(content.sealedMeta, transfer),
      index: { ...content.index, terms: owned(content.index.terms, transfer) },
    };
    parentPort?.postMessage({ id, result }, transfer);
  } catch (err) {
    parentPort?.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
