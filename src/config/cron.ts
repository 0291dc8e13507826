// Cron expressions for profile schedules, checked when the config is loaded and evaluated by the
// scheduler: croner, restricted to the 5 standard fields, in an IANA time zone.
import { Cron } from 'croner';

/** Builds the croner job, or returns a readable message. Paused and without a function: no timer. */
export function compileCron(expression: string, timezone?: string): Cron | string {
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
      return `unknown time zone "${timezone}" (expected an IANA name such as Europe/Berlin)`;
    }
  }
  let job: Cron;
  try {
    // 5 fields only: second-precision archiving makes no sense, and a year field invites typos.
    job = new Cron(expression, { paused: true, mode: '5-part', ...(timezone === undefined ? {} : { timezone }) });
  } catch (err) {
    const message = err instanceof Error ? err.message.replace(/^CronPattern:\s*/, '') : String(err);
    return `invalid cron expression: ${message}`;
  }
  // croner takes a string with a ':' as a one-off date; a profile schedule must repeat.
  if (job.getOnce() !== null) return 'invalid cron expression: a date is not a repeating schedule';
  return job;
}

export function checkCron(expression: string, timezone?: string): string | null {
  const job = compileCron(expression, timezone);
  if (typeof job === 'string') return job;
  if (job.nextRun() === null) return 'cron expression never matches a date (e.g. 30 February)';
  return null;
}

