// The prepare workers' failure path: a message whose parse exhausts a worker's heap is refused
// with a reason, the messages queued behind it may be offered again, and the pool goes on.
import test from 'ava';
import { isCofferError } from '../../../src/errors.js';
import { WorkerPool } from '../../../src/ingest/worker-pool.js';
import { message } from '../helpers.js';

test('a message that exhausts a worker heap is refused by name; the one queued behind it is retryable; the pool goes on', async (t) => {
  // 64 MB of heap; 8 MB of empty lines is ~4 million line strings for imap-core's parser.
  const pool = new WorkerPool(null, 1, 64);
  try {
    const lines = Buffer.from(`Subject: lines\r\nContent-Type: text/plain\r\n\r\n${'\r\n'.repeat(4_000_000)}`);
    const [huge, behind] = await Promise.allSettled([pool.prepare(lines), pool.prepare(message({ messageId: 'behind@x', body: 'queued' }))]);
    t.is(huge.status, 'rejected');
    const hugeError = (huge as PromiseRejectedResult).reason as unknown;
    t.true(isCofferError(hugeError) && !hugeError.temporary, String(hugeError));
    t.regex(String(hugeError), /message of 8\.0 MB needs more memory to parse than an ingest worker has/);
    t.is(behind.status, 'rejected');
    const behindError = (behind as PromiseRejectedResult).reason as unknown;
    t.true(isCofferError(behindError) && behindError.temporary, String(behindError));

    const after = message({ messageId: 'after@x', body: 'the pool still prepares' });
    const prepared = await pool.prepare(after);
    t.is(prepared.size, after.length);
  } finally {
    await pool.close();
  }
});
