// When an archiving profile runs next. "interval" is MailStore's automatic execution ("between
// executions, wait ... seconds", measured from the end of the previous run, and "do not execute
// between" quiet hours); "cron" is a 5-field cron expression evaluated by croner. Pure functions of
// their arguments and the process time zone (TZ), so the scheduler stays a thin timer loop.

import { checkCron, compileCron } from '../../config/cron.js';

/** "HH:MM" local time, 24h; the window may wrap midnight (22:00-06:00); from == to is invalid. */
export interface QuietHours {
  from: string;
  to: string;
}

export type Schedule =
  | { kind: 'interval'; everyMs: number; quietHours?: QuietHours }
  | { kind: 'cron'; expression: string; timezone?: string };

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Minutes since local midnight, or null when the value is not "HH:MM". */
function minutesOf(value: string): number | null {
  const m = HH_MM.exec(value);
  return m === null ? null : Number(m[1]) * 60 + Number(m[2]);
}

export function checkQuietHours(value: QuietHours): string | null {
  for (const key of ['from', 'to'] as const) {
    if (minutesOf(value[key]) === null) return `quiet hours "${key}" must be a time HH:MM (00:00 to 23:59)`;
  }
  if (value.from === value.to) return 'quiet hours "from" and "to" must differ';
  return null;
}

/** Validates a whole schedule; the message suits a config error. */
export function checkSchedule(schedule: Schedule): string | null {
  if (schedule.kind === 'cron') return checkCron(schedule.expression, schedule.timezone);
  if (!Number.isSafeInteger(schedule.everyMs) || schedule.everyMs < 0) {
    return 'interval must be a whole number of milliseconds, 0 or more';
  }
  return schedule.quietHours === undefined ? null : checkQuietHours(schedule.quietHours);
}

/**
 * Whether `at` (local time of the process) falls in [from, to), wrapping midnight when to < from.
 * False for a window checkQuietHours rejects.
 */
export function inQuietHours(quiet: QuietHours, at: Date): boolean {
  const from = minutesOf(quiet.from);
  const to = minutesOf(quiet.to);
  if (from === null || to === null || from === to) return false;
  const now = at.getHours() * 60 + at.getMinutes();
  return from < to ? now >= from && now < to : now >= from || now < to;
}

/** The first moment after `at` when the quiet hours end (local "to" time, today or tomorrow). */
function endOfQuietHours(quiet: QuietHours, at: Date): Date {
  const to = minutesOf(quiet.to) ?? 0;
  const end = new Date(at.getTime());
  end.setHours(Math.floor(to / 60), to % 60, 0, 0);
  if (end.getTime() <= at.getTime()) end.setDate(end.getDate() + 1);
  return end;
}

/**
 * When the next run should start; a time at or before `now` means "start now".
 *
 * interval: `everyMs` after the previous run finished (now when it never ran, or when that moment
 * has passed, e.g. the daemon was down), moved to the end of the quiet hours if it falls in them.
 *
 * cron: if an occurrence came after the previous start and has passed (the daemon was down, or
 * the previous run overran later occurrences), one catch-up run starts now: missed occurrences are
 * not replayed one by one, since each run archives everything new anyway. Otherwise the next
 * occurrence; a profile that never ran waits for its first occurrence (at or after now).
 *
 * A previous run dated in the future (the clock was set back) counts as having happened now, so
 * the schedule does not stall until the clock catches up.
 *
 * Throws RangeError for a schedule that checkSchedule rejects.
 */
export function nextRunAt(schedule: Schedule, last: { startedAt: Date; finishedAt: Date } | null, now: Date): Date {
  const nowMs = now.getTime();

  if (schedule.kind === 'interval') {
    const problem = checkSchedule(schedule);
    if (problem !== null) throw new RangeError(problem);
    const due = last === null ? nowMs : Math.min(last.finishedAt.getTime(), nowMs) + schedule.everyMs;
    const at = new Date(Math.max(due, nowMs));
    const quiet = schedule.quietHours;
    return quiet !== undefined && inQuietHours(quiet, at) ? endOfQuietHours(quiet, at) : at;
  }

  const job = compileCron(schedule.expression, schedule.timezone);
  if (typeof job === 'string') throw new RangeError(job);
  // croner's nextRun is strictly after its argument: from now - 1 ms, an occurrence at now counts.
  const since = last === null ? nowMs - 1 : Math.min(last.startedAt.getTime(), nowMs - 1);
  const next = job.nextRun(new Date(since));
  if (next === null) throw new RangeError('cron expression has no further occurrence');
  return next.getTime() <= nowMs ? new Date(nowMs) : next;
}
