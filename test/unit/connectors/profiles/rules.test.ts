import test from 'ava';
import { parseAge, type Age } from '../../../../src/config/index.js';
import {
  before,
  describeDeleteRule,
  dueForDeletion,
  formatAge,
  passesFilter,
  type ArchiveFilter,
  type DeleteRule,
  type SourceState,
} from '../../../../src/connectors/profiles/rules.js';

// Calendar arithmetic is in local time: UTC here unless a test switches zones (synchronously).
process.env.TZ = 'UTC';

const at = (iso: string): Date => new Date(iso);
const NOW = at('2024-05-15T12:00:00Z');
const days = (n: number): Age => ({ days: n, months: 0 });
const months = (n: number): Age => ({ days: 0, months: n });

const msg = (date: string, over: Partial<SourceState> = {}): SourceState => ({ seen: true, flagged: false, date: at(date), ...over });
const ALL: ArchiveFilter = { archiveUnread: true };
const READ_ONLY: ArchiveFilter = { archiveUnread: false };

test('parseAge accepts d, w, mo, y', (t) => {
  t.deepEqual(parseAge('30d'), { days: 30, months: 0 });
  t.deepEqual(parseAge('2w'), { days: 14, months: 0 });
  t.deepEqual(parseAge('6mo'), { days: 0, months: 6 });
  t.deepEqual(parseAge('1y'), { days: 0, months: 12 });
  t.deepEqual(parseAge(' 3 MO '), { days: 0, months: 3 });
  t.deepEqual(parseAge('99999d'), { days: 99999, months: 0 });
});

test('parseAge refuses everything else', (t) => {
  const bad = ['', 'd', '30', '0d', '00w', '1m', '1h', '30 days', '1y6mo', '-1d', '1.5y', '+1d', '100000d', '1e3d'];
  for (const value of [...bad, '1 d d', 'NaNd', '٣d', '１d']) {
    t.is(parseAge(value), null, value);
  }
});

test('formatAge', (t) => {
  t.is(formatAge(days(1)), '1 day');
  t.is(formatAge(days(30)), '30 days');
  t.is(formatAge(days(14)), '2 weeks');
  t.is(formatAge(days(7)), '1 week');
  t.is(formatAge(months(1)), '1 month');
  t.is(formatAge(months(6)), '6 months');
  t.is(formatAge(months(12)), '1 year');
  t.is(formatAge(months(24)), '2 years');
  t.is(formatAge({ days: 3, months: 18 }), '18 months 3 days');
  t.is(formatAge({ days: 0, months: 0 }), '0 days');
});

test('before: days and weeks', (t) => {
  t.deepEqual(before(NOW, days(30)), at('2024-04-15T12:00:00Z'));
  t.deepEqual(before(NOW, days(15)), at('2024-04-30T12:00:00Z'));
  t.deepEqual(before(at('2024-03-01T00:00:00Z'), days(1)), at('2024-02-29T00:00:00Z'));
  t.deepEqual(before(NOW, { days: 0, months: 0 }), NOW);
});

test('before: months are calendar months, clamped to shorter months', (t) => {
  t.deepEqual(before(NOW, months(1)), at('2024-04-15T12:00:00Z'));
  t.deepEqual(before(at('2024-03-31T08:00:00Z'), months(1)), at('2024-02-29T08:00:00Z'));
  t.deepEqual(before(at('2023-03-31T08:00:00Z'), months(1)), at('2023-02-28T08:00:00Z'));
  t.deepEqual(before(at('2024-05-31T08:00:00Z'), months(1)), at('2024-04-30T08:00:00Z'));
  t.deepEqual(before(at('2024-01-31T08:00:00Z'), months(2)), at('2023-11-30T08:00:00Z'));
  t.deepEqual(before(at('2024-02-29T08:00:00Z'), months(12)), at('2023-02-28T08:00:00Z'));
  t.deepEqual(before(NOW, months(120)), at('2014-05-15T12:00:00Z'));
  // Months, then days.
  t.deepEqual(before(at('2024-03-31T08:00:00Z'), { days: 1, months: 1 }), at('2024-02-28T08:00:00Z'));
});

test('before: huge ages stay valid dates', (t) => {
  const long = before(NOW, months(99999 * 12));
  t.false(Number.isNaN(long.getTime()));
  t.is(long.getUTCFullYear(), 2024 - 99999);
  t.is(before(at('0100-03-31T00:00:00Z'), months(1)).toISOString(), '0100-02-28T00:00:00.000Z');
});

test('before: local wall-clock time is kept across DST', (t) => {
  const saved = process.env.TZ;
  process.env.TZ = 'Europe/Berlin';
  try {
    // 1 April 12:00 CEST minus 1 day is 31 March 12:00 CEST; minus 2 days, 30 March 12:00 CET.
    const now = at('2024-04-01T10:00:00Z');
    t.deepEqual(before(now, days(1)), at('2024-03-31T10:00:00Z'));
    t.deepEqual(before(now, days(2)), at('2024-03-30T11:00:00Z'));
    t.deepEqual(before(now, months(1)), at('2024-03-01T11:00:00Z'));
  } finally {
    process.env.TZ = saved;
  }
});

test('passesFilter: unread messages only with archiveUnread', (t) => {
  t.true(passesFilter(msg('2024-05-01T00:00:00Z', { seen: false }), ALL, NOW));
  t.false(passesFilter(msg('2024-05-01T00:00:00Z', { seen: false }), READ_ONLY, NOW));
  t.true(passesFilter(msg('2024-05-01T00:00:00Z'), READ_ONLY, NOW));
  // Flags other than \Seen do not matter for archiving.
  t.true(passesFilter(msg('2024-05-01T00:00:00Z', { flagged: true }), ALL, NOW));
});

test('passesFilter: older than a date', (t) => {
  const filter: ArchiveFilter = { archiveUnread: true, olderThan: { date: at('2024-01-01T00:00:00Z') } };
  t.true(passesFilter(msg('2023-12-31T23:59:59.999Z'), filter, NOW));
  t.false(passesFilter(msg('2024-01-01T00:00:00Z'), filter, NOW)); // "before this date"
  t.false(passesFilter(msg('2024-05-01T00:00:00Z'), filter, NOW));
});

test('passesFilter: older than a range, measured from now', (t) => {
  const filter: ArchiveFilter = { archiveUnread: true, olderThan: { range: months(1) } };
  t.true(passesFilter(msg('2024-04-15T11:59:59Z'), filter, NOW));
  t.false(passesFilter(msg('2024-04-15T12:00:00Z'), filter, NOW));
  t.false(passesFilter(msg('2024-05-15T00:00:00Z'), filter, NOW));
  // The same message passes a month later.
  t.true(passesFilter(msg('2024-05-15T00:00:00Z'), filter, at('2024-06-16T00:00:00Z')));
});

test('passesFilter: an invalid date never passes an age filter', (t) => {
  const bad = { seen: true, flagged: false, date: new Date(Number.NaN) };
  t.false(passesFilter(bad, { archiveUnread: true, olderThan: { range: days(1) } }, NOW));
  t.false(passesFilter(bad, { archiveUnread: true, olderThan: { date: NOW } }, NOW));
  t.true(passesFilter(bad, ALL, NOW));
});

const ARCHIVED = at('2024-05-01T00:00:00Z');

test('never: nothing is due', (t) => {
  t.false(dueForDeletion(msg('2000-01-01T00:00:00Z'), ARCHIVED, { kind: 'never' }, ALL, NOW));
});

test('immediately: due as soon as archived', (t) => {
  t.true(dueForDeletion(msg('2024-05-15T11:59:00Z'), at('2024-05-15T12:00:00Z'), { kind: 'immediately' }, ALL, NOW));
});

test('at least a period after archiving', (t) => {
  const rule: DeleteRule = { kind: 'afterArchived', age: days(14) };
  t.true(dueForDeletion(msg('2024-05-14T00:00:00Z'), at('2024-05-01T12:00:00Z'), rule, ALL, NOW)); // exactly 14 days
  t.false(dueForDeletion(msg('2020-01-01T00:00:00Z'), at('2024-05-01T12:00:00.001Z'), rule, ALL, NOW)); // old mail, archived recently
  t.false(dueForDeletion(msg('2024-05-14T00:00:00Z'), at('2024-06-01T00:00:00Z'), rule, ALL, NOW)); // archivedAt in the future
});

test('if message older than a period', (t) => {
  const rule: DeleteRule = { kind: 'olderThan', age: months(6) };
  t.true(dueForDeletion(msg('2023-11-15T11:59:59Z'), ARCHIVED, rule, ALL, NOW));
  t.false(dueForDeletion(msg('2023-11-15T12:00:00Z'), ARCHIVED, rule, ALL, NOW));
  t.false(dueForDeletion(msg('2024-05-01T00:00:00Z'), ARCHIVED, rule, ALL, NOW));
});

test("the manual's example: the longer of filter range and deletion age applies", (t) => {
  // Filter "older than 1 month", rule "older than 1 day": only mail older than a month goes.
  const filter: ArchiveFilter = { archiveUnread: true, olderThan: { range: months(1) } };
  const rule: DeleteRule = { kind: 'olderThan', age: days(1) };
  t.false(dueForDeletion(msg('2024-05-10T00:00:00Z'), ARCHIVED, rule, filter, NOW));
  t.false(dueForDeletion(msg('2024-04-16T00:00:00Z'), ARCHIVED, rule, filter, NOW));
  t.true(dueForDeletion(msg('2024-04-15T11:00:00Z'), ARCHIVED, rule, filter, NOW));
  // And the other way round: the rule's longer age wins.
  const shortFilter: ArchiveFilter = { archiveUnread: true, olderThan: { range: days(1) } };
  const longRule: DeleteRule = { kind: 'olderThan', age: months(1) };
  t.false(dueForDeletion(msg('2024-05-10T00:00:00Z'), ARCHIVED, longRule, shortFilter, NOW));
  t.true(dueForDeletion(msg('2024-04-15T11:00:00Z'), ARCHIVED, longRule, shortFilter, NOW));
});

test('a filter date applies to "older than" deletion too', (t) => {
  const filter: ArchiveFilter = { archiveUnread: true, olderThan: { date: at('2024-01-01T00:00:00Z') } };
  const rule: DeleteRule = { kind: 'olderThan', age: days(7) };
  t.false(dueForDeletion(msg('2024-03-01T00:00:00Z'), ARCHIVED, rule, filter, NOW));
  t.true(dueForDeletion(msg('2023-12-31T00:00:00Z'), ARCHIVED, rule, filter, NOW));
});

test('flagged messages are never due, whatever the rule', (t) => {
  const old = msg('2000-01-01T00:00:00Z', { flagged: true });
  const rules: DeleteRule[] = [
    { kind: 'immediately' },
    { kind: 'afterArchived', age: days(1) },
    { kind: 'olderThan', age: days(1) },
  ];
  for (const rule of rules) t.false(dueForDeletion(old, at('2001-01-01T00:00:00Z'), rule, ALL, NOW), rule.kind);
  // Unflagged, the same message is due under each.
  for (const rule of rules) t.true(dueForDeletion({ ...old, flagged: false }, at('2001-01-01T00:00:00Z'), rule, ALL, NOW), rule.kind);
});

test('a message that fails the filter now is kept (e.g. marked unread again)', (t) => {
  const unread = msg('2000-01-01T00:00:00Z', { seen: false });
  const longAgo = at('2001-01-01T00:00:00Z');
  const rules: DeleteRule[] = [
    { kind: 'immediately' },
    { kind: 'afterArchived', age: days(1) },
    { kind: 'olderThan', age: days(1) },
  ];
  for (const rule of rules) {
    t.false(dueForDeletion(unread, longAgo, rule, READ_ONLY, NOW), rule.kind);
    t.true(dueForDeletion(unread, longAgo, rule, ALL, NOW), rule.kind);
  }
  // The filter was tightened after archiving: the message is no longer in scope.
  const tightened: ArchiveFilter = { archiveUnread: true, olderThan: { date: at('1999-01-01T00:00:00Z') } };
  t.false(dueForDeletion(msg('2000-01-01T00:00:00Z'), longAgo, { kind: 'immediately' }, tightened, NOW));
});

test('describeDeleteRule', (t) => {
  t.is(describeDeleteRule({ kind: 'never' }), 'never delete');
  t.is(describeDeleteRule({ kind: 'immediately' }), 'delete immediately after archiving');
  t.is(describeDeleteRule({ kind: 'afterArchived', age: days(30) }), 'delete 30 days after archiving');
  t.is(describeDeleteRule({ kind: 'afterArchived', age: days(1) }), 'delete 1 day after archiving');
  t.is(describeDeleteRule({ kind: 'olderThan', age: months(6) }), 'delete messages older than 6 months');
  t.is(describeDeleteRule({ kind: 'olderThan', age: months(12) }), 'delete messages older than 1 year');
  // Round trip from the config syntax.
  const age = parseAge('2w');
  if (age === null) return t.fail();
  t.is(describeDeleteRule({ kind: 'afterArchived', age }), 'delete 2 weeks after archiving');
});
