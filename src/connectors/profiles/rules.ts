// Archive filters and source deletion rules of an archiving profile (MailStore manual 2.3,
// "Specifying Filter Criteria" and "Deleting Emails after Archiving"). Pure decisions per message,
// so the connector's only job is to act on them. Deletion errs on the side of keeping mail: a rule
// never deletes what the profile would not archive now, nor a flagged message.
import type { Age } from '../../config/index.js';

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** "30 days", "2 weeks", "6 months", "1 year", "1 year 2 days". */
export function formatAge(age: Age): string {
  const parts: string[] = [];
  if (age.months !== 0) parts.push(age.months % 12 === 0 ? plural(age.months / 12, 'year') : plural(age.months, 'month'));
  if (age.days !== 0) parts.push(age.days % 7 === 0 ? plural(age.days / 7, 'week') : plural(age.days, 'day'));
  return parts.length === 0 ? '0 days' : parts.join(' ');
}

/**
 * `now` minus the age in local calendar terms: months first, clamped to the end of a shorter month
 * (31 March minus 1 month is 28 or 29 February), then days, keeping the wall-clock time across DST.
 */
export function before(now: Date, age: Age): Date {
  const result = new Date(now.getTime());
  const day = result.getDate();
  result.setDate(1);
  result.setMonth(result.getMonth() - age.months);
  const lastDay = new Date(result.getTime());
  lastDay.setMonth(lastDay.getMonth() + 1, 0);
  result.setDate(Math.min(day, lastDay.getDate()));
  result.setDate(result.getDate() - age.days);
  return result;
}

/**
 * `olderThan.date` is an instant: whether the admin meant it in UTC or local time (MailStore's UTC
 * option) is resolved when the config is read.
 */
export interface ArchiveFilter {
  archiveUnread: boolean;
  olderThan?: { date: Date } | { range: Age };
}

export type DeleteRule =
  | { kind: 'never' }
  | { kind: 'immediately' }
  | { kind: 'afterArchived'; age: Age }
  | { kind: 'olderThan'; age: Age };

export interface SourceState {
  seen: boolean;
  flagged: boolean;
  /** Send or receive date: the IMAP INTERNALDATE or the Date header. */
  date: Date;
}

/** Messages must be dated strictly before this to pass the filter; null when there is no age filter. */
function filterThreshold(filter: ArchiveFilter, now: Date): Date | null {
  const olderThan = filter.olderThan;
  if (olderThan === undefined) return null;
  return 'date' in olderThan ? olderThan.date : before(now, olderThan.range);
}

/**
 * Whether a message at the source should be archived now. An invalid date never passes an age
 * filter: a message whose age is unknown is not known to be old enough.
 */
export function passesFilter(message: SourceState, filter: ArchiveFilter, now: Date): boolean {
  if (!message.seen && !filter.archiveUnread) return false;
  const threshold = filterThreshold(filter, now);
  return threshold === null || message.date.getTime() < threshold.getTime();
}

/**
 * Whether an archived message should now be deleted at the source. archivedAt: when Coffer first
 * archived it (the caller has verified Coffer holds it). Never for a flagged message (the manual:
 * flags protect ongoing work), nor for one that fails the filter now, e.g. it was marked unread
 * again or the filter was tightened since: deletion only follows what the profile archives.
 * That also gives "if older than" the longer of its age and the filter's, as the manual requires.
 */
export function dueForDeletion(
  message: SourceState,
  archivedAt: Date,
  rule: DeleteRule,
  filter: ArchiveFilter,
  now: Date,
): boolean {
  if (message.flagged || !passesFilter(message, filter, now)) return false;
  switch (rule.kind) {
    case 'never':
      return false;
    case 'immediately':
      return true;
    case 'afterArchived':
      return archivedAt.getTime() <= before(now, rule.age).getTime();
    case 'olderThan': {
      const own = before(now, rule.age).getTime();
      const filtered = filterThreshold(filter, now)?.getTime() ?? own;
      return message.date.getTime() < Math.min(own, filtered);
    }
  }
}

/** Human description for `coffer profile list` and logs, e.g. "delete 30 days after archiving". */
export function describeDeleteRule(rule: DeleteRule): string {
  switch (rule.kind) {
    case 'never':
      return 'never delete';
    case 'immediately':
      return 'delete immediately after archiving';
    case 'afterArchived':
      return `delete ${formatAge(rule.age)} after archiving`;
    case 'olderThan':
      return `delete messages older than ${formatAge(rule.age)}`;
  }
}
