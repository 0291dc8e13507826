// A fixed pool of worker threads running prepareContent (or, for messages already stored, only
// the search index's part of it), one per core but one (defaultWorkerCount). Requests go to the
// worker with the fewest in flight; a worker that dies fails its requests and is replaced.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CofferError, ErrorCodes } from '../errors.js';
import type { IndexPayload } from '../store/writer.js';
import type { PreparedContent } from './prepare.js';

interface Pending {
  resolve: (result: never) => void;
  reject: (err: unknown) => void;
  revive: (result: never) => unknown;
  bytes: number;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
}

type Reply = { id: number; result: never } | { id: number; error: string };

// The worker is TypeScript under tsx (tests, development) and JavaScript once built; a
// TypeScript worker needs tsx's loader, which workers do not inherit from the parent thread.
// A worker handles one message at a time and keeps nothing between them, so its young generation
// is capped well below V8's defaults (sized for long-lived application heaps) to bound RSS. 8 MB
// costs no measurable CPU since the text extraction was reworked (100,000 messages: workers 53 vs
// 56 CPU-s at 16 MB); smaller caps cost ~10% in scavenges before that rework. V8's flags win over
// these limits: a process started as main.ts starts it gives its workers its own 4 MB semi-spaces
// and 1 GB heap limit. No lower old-generation cap: parsing a message takes ~10x its size in heap
// (~60 bytes a line). A worker out of heap is terminated, not the process: outOfMemoryError.
const WORKER_YOUNG_GENERATION_MB = 8;

/**
 * One worker per core but one: the main thread is busy all through an ingest (the IMAP client or
 * the file reader, LevelDB, inverting the index). On 2 cores, with each thread collecting its own
 * garbage (main.ts), a second worker only competed with it for the CPU: a 100,000-message pull ran
 * as fast with one and peaked ~30 MiB lower; the 6-second corpus pull ran ~5% slower
 * (bench/README.md, archiving profiles).
 */
export function defaultWorkerCount(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

function createPrepareWorker(key: Buffer | null, heapLimitMb: number | undefined): Worker {
  const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, ...(heapLimitMb === undefined ? {} : { maxOldGenerationSizeMb: heapLimitMb }) };
  const options = { workerData: { key }, resourceLimits };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./prepare-worker.js', import.meta.url), options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./prepare-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

export class WorkerPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private closed = false;

  /** `heapLimitMb`: each worker's old-generation cap where the process sets none of its own. */
  constructor(
    private readonly key: Buffer | null,
    size = defaultWorkerCount(),
    private readonly heapLimitMb?: number,
  ) {
    for (let i = 0; i < size; i++) this.workers.push(this.spawn());
  }

  /**
   * `envelopeRecipients`: how the message was addressed in transit, for the index's Bcc field.
   * `handOver`: the caller will not read `raw` again, so memory it owns alone moves to the worker
   * instead of being copied, and `raw` is left empty. Bytes that stay on this thread until the
   * message is committed outlive young-generation collections, and V8 frees such buffers only in
   * its rare full collections: handing them over keeps a pull's messages off this thread's heap.
   */
  prepare(raw: Buffer, envelopeRecipients: readonly string[] = [], handOver = false): Promise<PreparedContent> {
    return this.request('prepare', raw, reviveContent, envelopeRecipients, handOver);
  }

  /** The search index payload of a message already stored. */
  indexPayload(raw: Buffer, envelopeRecipients: readonly string[] = []): Promise<IndexPayload> {
    return this.request('index', raw, revivePayload, envelopeRecipients);
  }

  private request<T>(kind: 'prepare' | 'index', raw: Buffer, revive: (result: T) => T, envelopeRecipients: readonly string[] = [], handOver = false): Promise<T> {
    if (this.closed) return Promise.reject(new CofferError(ErrorCodes.StoreUnavailable, 'ingest is shut down'));
    const target = this.workers.reduce((best, w) => (w.pending.size < best.pending.size ? w : best));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      target.pending.set(id, { resolve: resolve as (result: never) => void, reject, revive: revive as (result: never) => unknown, bytes: raw.length });
      // A view of a larger block (a reader's chunk; small Buffers share Node's pool) must not move it.
      const ownsItsMemory = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength;
      target.worker.postMessage({ id, kind, raw, envelopeRecipients }, handOver && ownsItsMemory ? [raw.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private spawn(): PoolWorker {
    const worker = createPrepareWorker(this.key, this.heapLimitMb);
    const entry: PoolWorker = { worker, pending: new Map() };
    worker.on('message', (reply: Reply) => {
      const pending = entry.pending.get(reply.id);
      if (!pending) return;
      entry.pending.delete(reply.id);
      if ('error' in reply) pending.reject(new CofferError(ErrorCodes.StoreUnavailable, `message preparation failed: ${reply.error}`));
      else pending.resolve(pending.revive(reply.result) as never);
    });
    const fail = (err: unknown): void => {
      const outOfMemory = (err as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      // A worker takes its requests in order: the first pending is the one it was preparing.
      let first = true;
      for (const pending of entry.pending.values()) {
        pending.reject(outOfMemory ? outOfMemoryError(pending.bytes, first, err) : err);
        first = false;
      }
      entry.pending.clear();
      if (this.closed) return;
      const index = this.workers.indexOf(entry);
      if (index !== -1) this.workers[index] = this.spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new CofferError(ErrorCodes.StoreUnavailable, `ingest worker exited with code ${code}`, { temporary: true }));
    });
    return entry;
  }
}

/**
 * A message whose parse exhausted the worker's heap (imap-core's parser holds every line as a
 * string: ~60 bytes a line, so 25 MB of empty lines is enough) is refused for good; the ones queued
 * behind it went down with the worker and may be offered again.
 */
function outOfMemoryError(bytes: number, culprit: boolean, cause: unknown): CofferError {
  if (culprit) {
    return new CofferError(ErrorCodes.SourceUnreadable, `message of ${(bytes / 1e6).toFixed(1)} MB needs more memory to parse than an ingest worker has`, { cause });
  }
  return new CofferError(ErrorCodes.StoreUnavailable, 'not prepared: the ingest worker ran out of memory on an earlier message', { cause, temporary: true });
}

// Structured clone turns Buffers into plain Uint8Arrays.
const buffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function revivePayload(payload: IndexPayload): IndexPayload {
  return { ...payload, terms: buffer(payload.terms) };
}

function reviveContent(content: PreparedContent): PreparedContent {
  return { ...content, sha: buffer(content.sha), sealedBlob: buffer(content.sealedBlob), sealedMeta: buffer(content.sealedMeta), index: revivePayload(content.index) };
}
