// The login throttle with a controlled clock: lockout after repeated failures, per address and per
// user, expiry, reset on success, and bounded memory.
import test from 'ava';
import { createLoginThrottle } from '../../src/auth/throttle.js';

function clocked() {
  let now = 1_000_000;
  const throttle = createLoginThrottle({ maxFailures: 3, windowMs: 60_000, lockoutMs: 30_000, maxEntries: 100, now: () => now });
  return { throttle, advance: (ms: number) => (now += ms) };
}

test('three failures lock out the address and the user for the lockout period', (t) => {
  const { throttle, advance } = clocked();
  const attempt = { ip: '192.0.2.1', user: 'alice' };
  for (let i = 0; i < 2; i++) throttle.failed(attempt);
  t.is(throttle.retryAfter(attempt), 0);
  throttle.failed(attempt);
  t.is(throttle.retryAfter(attempt), 30);
  t.is(throttle.retryAfter({ ip: '192.0.2.1', user: 'bob' }), 30, 'the same address is locked for every user');
  t.is(throttle.retryAfter({ ip: '198.51.100.7', user: 'ALICE' }), 30, 'the user is locked from every address, case ignored');
  t.is(throttle.retryAfter({ ip: '198.51.100.7', user: 'bob' }), 0);
  advance(30_000);
  t.is(throttle.retryAfter(attempt), 0, 'the lockout expires');
});

test('failures spread beyond the window do not add up; a success clears the user', (t) => {
  const { throttle, advance } = clocked();
  const attempt = { ip: '192.0.2.1', user: 'alice' };
  throttle.failed(attempt);
  throttle.failed(attempt);
  advance(61_000);
  throttle.failed(attempt);
  t.is(throttle.retryAfter(attempt), 0);
  throttle.failed({ ip: '203.0.113.9', user: 'carol' });
  throttle.failed({ ip: '203.0.113.8', user: 'carol' });
  throttle.succeeded({ ip: '203.0.113.7', user: 'carol' });
  throttle.failed({ ip: '203.0.113.6', user: 'carol' });
  t.is(throttle.retryAfter({ ip: '203.0.113.5', user: 'carol' }), 0);
});

test('memory stays bounded under a flood of distinct addresses and names', (t) => {
  const { throttle } = clocked();
  const first = { ip: '10.0.0.1', user: 'first' };
  for (let i = 0; i < 3; i++) throttle.failed(first);
  t.true(throttle.retryAfter(first) > 0);
  // 100 entries at most: a flood pushes the oldest out (the price of bounded memory), and the
  // newest are still tracked.
  for (let i = 0; i < 5_000; i++) throttle.failed({ ip: `10.1.${i >> 8}.${i & 255}`, user: `u${i}` });
  t.is(throttle.retryAfter(first), 0);
  const last = { ip: '10.99.0.1', user: 'last' };
  for (let i = 0; i < 3; i++) throttle.failed(last);
  t.true(throttle.retryAfter(last) > 0);
});
