// The prepare workers' failure path: a message whose parse exhausts a worker's heap is refused
// with a reason, the messages queued behind it may be offered again, and the pool goes on.
import test from 'ava';
import { isCofferError } from '../../../src/errors.js';
import { WorkerPool } from '../../../src/ingest/worker-pool.js';
import { message } from '../helpers.js';

test('a message that exhausts a worker heap is refused by name; the one queued behind it is retryable; the pool goes on', async (t) => {
  // 64 MB of heap. 200,000 addresses in one header take ~90 MB to parse, and the parse limits
  // (mime/parse-limits.ts) estimate lines, bytes and parts, not addresses: the worker runs out.
  const pool = new WorkerPool(null, 1, 64);
  try {
    const addresses = Array.from({ length: 200_000 }, (_, i) => `a${i}@b.c`).join(', ');
    const huge = Buffer.from(`Subject: addresses\r\nTo: ${addresses}\r\n\r\nbody\r\n`);
    const [refused, behind] = await Promise.allSettled([pool.prepare(huge), pool.prepare(message({ messageId: 'behind@x', body: 'queued' }))]);
    t.is(refused.status, 'rejected');
    const hugeError = (refused as PromiseRejectedResult).reason as unknown;
    t.true(isCofferError(hugeError) && !hugeError.temporary, String(hugeError));
    t.regex(String(hugeError), /message of 2\.5 MB needs more memory to parse than an ingest worker has/);
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

test('a message too costly to take apart is prepared from its headers, within a small worker heap', async (t) => {
  // 8 MB of empty lines: imap-core's parser would need ~1 GB for them (mime/parse-limits.ts).
  const pool = new WorkerPool(null, 1, 64);
  try {
    const lines = Buffer.from(`Subject: lines\r\nFrom: ann@example.com\r\n\r\n${'\r\n'.repeat(4_000_000)}`);
    const prepared = await pool.prepare(lines);
    t.is(prepared.size, lines.length);
    t.deepEqual(prepared.addresses.from, ['ann@example.com']);
    t.true(prepared.problems.some((problem) => /^MIME structure not analysed: its structure would need about \d+ MB/.test(problem)), prepared.problems.join('; '));
  } finally {
    await pool.close();
  }
});
