import test from 'ava';
import { checkCron } from '../../../../src/config/cron.js';
import {
  checkQuietHours,
  checkSchedule,
  inQuietHours,
  nextRunAt,
  type QuietHours,
  type Schedule,
} from '../../../../src/connectors/profiles/schedule.js';

// Local time is UTC in this file unless a test switches zones (synchronously, restoring it), so
// the assertions do not depend on the machine.
process.env.TZ = 'UTC';

const at = (iso: string): Date => new Date(iso);
const NIGHT: QuietHours = { from: '22:00', to: '06:00' };
const EARLY: QuietHours = { from: '01:00', to: '03:00' };
const MINUTE = 60_000;

function inZone<T>(zone: string, fn: () => T): T {
  const saved = process.env.TZ;
  process.env.TZ = zone;
  try {
    return fn();
  } finally {
    process.env.TZ = saved;
  }
}

const interval = (everyMs: number, quietHours?: QuietHours): Schedule =>
  quietHours === undefined ? { kind: 'interval', everyMs } : { kind: 'interval', everyMs, quietHours };
const ran = (startedAt: string, finishedAt: string): { startedAt: Date; finishedAt: Date } => ({
  startedAt: at(startedAt),
  finishedAt: at(finishedAt),
});

test('checkQuietHours accepts HH:MM pairs, wrapping or not', (t) => {
  t.is(checkQuietHours(NIGHT), null);
  t.is(checkQuietHours(EARLY), null);
  t.is(checkQuietHours({ from: '00:00', to: '23:59' }), null);
});

test('checkQuietHours rejects malformed times and empty windows', (t) => {
  for (const bad of ['24:00', '7:00', '07:60', '0700', 'ab:cd', '', ' 07:00', '07:00:00', '-1:00', '１２:00']) {
    t.regex(checkQuietHours({ from: bad, to: '06:00' }) ?? '', /quiet hours "from" must be a time HH:MM/, bad);
    t.regex(checkQuietHours({ from: '06:00', to: bad }) ?? '', /quiet hours "to" must be a time HH:MM/, bad);
  }
  t.is(checkQuietHours({ from: '06:00', to: '06:00' }), 'quiet hours "from" and "to" must differ');
});

test('checkCron accepts 5-field expressions and nicknames', (t) => {
  for (const ok of ['*/15 * * * *', '0 3 * * *', '30 2 * * MON-FRI', '0 0 1 * *', '@daily', '@hourly', '0 3 L * *']) {
    t.is(checkCron(ok), null, ok);
  }
  t.is(checkCron('0 3 * * *', 'Europe/Berlin'), null);
  t.is(checkCron('0 3 * * *', 'UTC'), null);
});

test('checkCron explains what is wrong, without the library prefix', (t) => {
  const cases: [string, RegExp][] = [
    ['bogus', /^invalid cron expression: .*five/],
    ['', /^invalid cron expression/],
    ['61 * * * *', /^invalid cron expression: Invalid value for minute: 61/],
    ['0 0 3 * * *', /^invalid cron expression: .*5 parts/], // seconds field
    ['0 0 0 1 1 * 2030', /^invalid cron expression/], // year field
    ['@reboot', /^invalid cron expression: @reboot/],
    ['2030-01-23T00:00:00', /^invalid cron expression: a date is not a repeating schedule/],
    ['0 0 30 2 *', /never matches/],
    ['* * * * * ; rm -rf /', /^invalid cron expression/],
    ['x'.repeat(10_000), /^invalid cron expression/],
  ];
  for (const [expression, message] of cases) {
    const problem = checkCron(expression);
    t.regex(problem ?? '', message, expression.slice(0, 40));
    t.false((problem ?? '').includes('CronPattern'));
  }
  t.regex(checkCron('0 3 * * *', 'Mars/Olympus') ?? '', /unknown time zone "Mars\/Olympus"/);
  t.regex(checkCron('0 3 * * *', '') ?? '', /unknown time zone/);
});

test('checkSchedule checks the interval and its quiet hours', (t) => {
  t.is(checkSchedule(interval(15 * MINUTE, NIGHT)), null);
  t.is(checkSchedule(interval(0)), null);
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.regex(checkSchedule(interval(bad)) ?? '', /interval must be a whole number/);
  }
  t.regex(checkSchedule(interval(MINUTE, { from: '1', to: '2' })) ?? '', /quiet hours/);
  t.regex(checkSchedule({ kind: 'cron', expression: 'nope' }) ?? '', /invalid cron/);
});

test('inQuietHours: a window within one day is [from, to)', (t) => {
  t.false(inQuietHours(EARLY, at('2024-05-01T00:59:59.999Z')));
  t.true(inQuietHours(EARLY, at('2024-05-01T01:00:00Z')));
  t.true(inQuietHours(EARLY, at('2024-05-01T02:59:59.999Z')));
  t.false(inQuietHours(EARLY, at('2024-05-01T03:00:00Z')));
  t.false(inQuietHours(EARLY, at('2024-05-01T13:00:00Z')));
});

test('inQuietHours: a window wrapping midnight', (t) => {
  t.false(inQuietHours(NIGHT, at('2024-05-01T21:59:59Z')));
  t.true(inQuietHours(NIGHT, at('2024-05-01T22:00:00Z')));
  t.true(inQuietHours(NIGHT, at('2024-05-01T23:59:59Z')));
  t.true(inQuietHours(NIGHT, at('2024-05-02T00:00:00Z')));
  t.true(inQuietHours(NIGHT, at('2024-05-02T05:59:59.999Z')));
  t.false(inQuietHours(NIGHT, at('2024-05-02T06:00:00Z')));
  t.false(inQuietHours(NIGHT, at('2024-05-02T12:00:00Z')));
});

test('inQuietHours uses the local time of the process', (t) => {
  // 21:30 UTC is 23:30 in Berlin in summer: quiet there, not in UTC.
  const moment = at('2024-07-01T21:30:00Z');
  t.false(inQuietHours(NIGHT, moment));
  t.true(inZone('Europe/Berlin', () => inQuietHours(NIGHT, moment)));
});

test('inQuietHours: invalid windows are never quiet', (t) => {
  t.false(inQuietHours({ from: '06:00', to: '06:00' }, at('2024-05-01T06:00:00Z')));
  t.false(inQuietHours({ from: 'x', to: '06:00' }, at('2024-05-01T03:00:00Z')));
});

test('interval: a profile that never ran starts now', (t) => {
  t.deepEqual(nextRunAt(interval(15 * MINUTE), null, at('2024-05-01T10:00:00Z')), at('2024-05-01T10:00:00Z'));
});

test('interval: the wait is measured from the end of the previous run', (t) => {
  const last = ran('2024-05-01T09:00:00Z', '2024-05-01T10:00:00Z');
  t.deepEqual(nextRunAt(interval(15 * MINUTE), last, at('2024-05-01T10:05:00Z')), at('2024-05-01T10:15:00Z'));
  t.deepEqual(nextRunAt(interval(0), last, at('2024-05-01T10:05:00Z')), at('2024-05-01T10:05:00Z'));
});

test('interval: overdue (daemon was down) means now, once', (t) => {
  const last = ran('2024-04-01T09:00:00Z', '2024-04-01T09:10:00Z');
  t.deepEqual(nextRunAt(interval(15 * MINUTE), last, at('2024-05-01T10:05:00Z')), at('2024-05-01T10:05:00Z'));
});

test('interval: a previous run in the future (clock set back) counts as now', (t) => {
  const last = ran('2024-05-02T09:00:00Z', '2024-05-02T10:00:00Z');
  t.deepEqual(nextRunAt(interval(15 * MINUTE), last, at('2024-05-01T10:00:00Z')), at('2024-05-01T10:15:00Z'));
});

test('interval: a run due in quiet hours moves to their end', (t) => {
  const every = interval(60 * MINUTE, NIGHT);
  // Each run finished just now, an hour before it is due again.
  const next = (finished: string): Date => nextRunAt(every, ran(finished, finished), at(finished));
  // Due 23:00: the window ends tomorrow 06:00.
  t.deepEqual(next('2024-05-01T22:00:00Z'), at('2024-05-02T06:00:00Z'));
  // Due 03:00 after midnight: today 06:00.
  t.deepEqual(next('2024-05-02T02:00:00Z'), at('2024-05-02T06:00:00Z'));
  // Due exactly at the start of the window, or exactly at its end.
  t.deepEqual(next('2024-05-01T21:00:00Z'), at('2024-05-02T06:00:00Z'));
  t.deepEqual(next('2024-05-02T05:00:00Z'), at('2024-05-02T06:00:00Z'));
  // Due just before the window: runs (and may run into it; quiet hours only gate starts).
  t.deepEqual(next('2024-05-01T20:59:00Z'), at('2024-05-01T21:59:00Z'));
  // Never ran, now inside the window.
  t.deepEqual(nextRunAt(every, null, at('2024-05-01T23:30:00Z')), at('2024-05-02T06:00:00Z'));
  // Overdue while the window is open: waits for its end too.
  t.deepEqual(nextRunAt(every, ran('2024-04-01T00:00:00Z', '2024-04-01T00:00:00Z'), at('2024-05-02T01:00:00Z')), at('2024-05-02T06:00:00Z'));
});

test('interval: a window within one day', (t) => {
  const every = interval(30 * MINUTE, EARLY);
  const last = ran('2024-05-01T01:00:00Z', '2024-05-01T01:30:00Z');
  t.deepEqual(nextRunAt(every, last, at('2024-05-01T01:30:00Z')), at('2024-05-01T03:00:00Z'));
});

test('interval: quiet hours across a DST change end at the first valid local time', (t) => {
  inZone('Europe/Berlin', () => {
    // 31 March 2024: 02:00 CET becomes 03:00 CEST. "to" 02:30 does not exist that night.
    const every = interval(60 * MINUTE, { from: '22:00', to: '02:30' });
    const finished = at('2024-03-30T23:00:00Z'); // 00:00 CET, due 01:00 CET
    const next = nextRunAt(every, { startedAt: finished, finishedAt: finished }, finished);
    t.deepEqual(next, at('2024-03-31T01:30:00Z')); // 03:30 CEST
    t.false(inQuietHours({ from: '22:00', to: '02:30' }, next));
    // A normal night: 06:00 CEST is 04:00 UTC.
    const summer = at('2024-07-01T22:00:00Z'); // 00:00 CEST
    t.deepEqual(nextRunAt(interval(MINUTE, NIGHT), null, summer), at('2024-07-02T04:00:00Z'));
  });
});

test('interval: invalid schedules throw RangeError', (t) => {
  t.throws(() => nextRunAt(interval(-5), null, at('2024-05-01T10:00:00Z')), { instanceOf: RangeError });
  t.throws(() => nextRunAt(interval(MINUTE, { from: '06:00', to: '06:00' }), null, at('2024-05-01T10:00:00Z')), {
    instanceOf: RangeError,
    message: /must differ/,
  });
});

const cron = (expression: string, timezone?: string): Schedule =>
  timezone === undefined ? { kind: 'cron', expression } : { kind: 'cron', expression, timezone };

test('cron: a profile that never ran waits for its first occurrence', (t) => {
  t.deepEqual(nextRunAt(cron('0 3 * * *'), null, at('2024-05-01T10:00:00Z')), at('2024-05-02T03:00:00Z'));
  // An occurrence exactly now counts.
  t.deepEqual(nextRunAt(cron('0 3 * * *'), null, at('2024-05-01T03:00:00Z')), at('2024-05-01T03:00:00Z'));
});

test('cron: after a run, the next occurrence', (t) => {
  const last = ran('2024-05-01T03:00:00Z', '2024-05-01T03:20:00Z');
  t.deepEqual(nextRunAt(cron('0 3 * * *'), last, at('2024-05-01T03:20:00Z')), at('2024-05-02T03:00:00Z'));
  t.deepEqual(nextRunAt(cron('*/30 * * * *'), last, at('2024-05-01T03:20:00Z')), at('2024-05-01T03:30:00Z'));
});

test('cron: missed occurrences give one catch-up run now', (t) => {
  // Daemon down for two days: run once now, not twice.
  const last = ran('2024-04-29T03:00:00Z', '2024-04-29T03:20:00Z');
  const now = at('2024-05-01T10:00:00Z');
  t.deepEqual(nextRunAt(cron('0 3 * * *'), last, now), now);
  // After the catch-up run, back to the expression.
  const caughtUp = ran('2024-05-01T10:00:00Z', '2024-05-01T10:05:00Z');
  t.deepEqual(nextRunAt(cron('0 3 * * *'), caughtUp, at('2024-05-01T10:05:00Z')), at('2024-05-02T03:00:00Z'));
});

test('cron: a run that overran later occurrences is followed by one run now', (t) => {
  const last = ran('2024-05-01T03:00:00Z', '2024-05-01T05:10:00Z');
  const now = at('2024-05-01T05:10:00Z');
  t.deepEqual(nextRunAt(cron('*/30 * * * *'), last, now), now);
});

test('cron: a previous start in the future (clock set back) does not stall the schedule', (t) => {
  const last = ran('2024-05-09T03:00:00Z', '2024-05-09T03:10:00Z');
  t.deepEqual(nextRunAt(cron('0 3 * * *'), last, at('2024-05-01T10:00:00Z')), at('2024-05-02T03:00:00Z'));
});

test('cron: the time zone of the expression, across DST', (t) => {
  const berlin = cron('0 3 * * *', 'Europe/Berlin');
  t.deepEqual(nextRunAt(berlin, null, at('2024-01-15T12:00:00Z')), at('2024-01-16T02:00:00Z'));
  t.deepEqual(nextRunAt(berlin, null, at('2024-07-15T12:00:00Z')), at('2024-07-16T01:00:00Z'));
  // The night of the change: 03:00 CEST on 31 March is 01:00 UTC.
  t.deepEqual(nextRunAt(berlin, null, at('2024-03-30T12:00:00Z')), at('2024-03-31T01:00:00Z'));
  // Without a time zone, the process's (UTC here).
  t.deepEqual(nextRunAt(cron('0 3 * * *'), null, at('2024-07-15T12:00:00Z')), at('2024-07-16T03:00:00Z'));
});

test('cron: invalid schedules throw RangeError', (t) => {
  t.throws(() => nextRunAt(cron('nope'), null, at('2024-05-01T10:00:00Z')), { instanceOf: RangeError, message: /invalid cron/ });
  t.throws(() => nextRunAt(cron('0 0 30 2 *'), null, at('2024-05-01T10:00:00Z')), { instanceOf: RangeError });
  t.throws(() => nextRunAt(cron('0 3 * * *', 'Nowhere/Bogus'), null, at('2024-05-01T10:00:00Z')), {
    instanceOf: RangeError,
    message: /unknown time zone/,
  });
});
