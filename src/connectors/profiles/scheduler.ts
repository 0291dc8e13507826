// The daemon's profile scheduler: each profile with a schedule gets one timer for its next run,
// computed from its last run in the history (so a restart neither repeats nor forgets a run).
// A run that is due while the same profile still runs (started by hand) is skipped, not queued.
// SIGHUP re-plans every timer from the new configuration.
import type { Config, ProfileConfig } from '../../config/index.js';
import type { Component } from '../../lifecycle.js';
import type { Logger } from '../../log/logger.js';
import type { ProfileRunner } from './runner.js';
import { nextRunAt, type Schedule } from './schedule.js';

/** setTimeout's limit; longer waits are re-planned when they expire. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function scheduleOf(profile: ProfileConfig): Schedule | null {
  const schedule = profile.schedule;
  if (schedule === undefined) return null;
  if ('cron' in schedule) return { kind: 'cron', expression: schedule.cron, ...(schedule.timezone === undefined ? {} : { timezone: schedule.timezone }) };
  return { kind: 'interval', everyMs: schedule.every, ...(schedule.quietHours === undefined ? {} : { quietHours: { ...schedule.quietHours } }) };
}

export function createProfileScheduler(options: { config: Config; runner: ProfileRunner; logger: Logger }): Component {
  const { runner, logger } = options;
  let config = options.config;
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;

  const plan = async (profile: ProfileConfig): Promise<void> => {
    const schedule = scheduleOf(profile);
    if (schedule === null || stopped) return;
    const last = await runner.lastRun(profile.name);
    const now = new Date();
    const at = nextRunAt(schedule, last ? { startedAt: new Date(last.startedAt), finishedAt: new Date(last.finishedAt) } : null, now);
    const wait = Math.max(0, at.getTime() - now.getTime());
    clearTimeout(timers.get(profile.name));
    logger.debug({ profile: profile.name, at: at.toISOString() }, 'profile run planned');
    timers.set(
      profile.name,
      setTimeout(() => void fire(profile.name, wait > MAX_TIMER_MS), Math.min(wait, MAX_TIMER_MS)),
    );
  };

  const fire = async (name: string, replanOnly: boolean): Promise<void> => {
    timers.delete(name);
    const profile = config.profiles.find((candidate) => candidate.name === name);
    if (profile === undefined || stopped) return;
    if (!replanOnly) {
      if (runner.isRunning(name)) logger.info({ profile: name }, 'scheduled run skipped: the profile is still running');
      else await runner.run(name, 'schedule').catch((err: unknown) => logger.error({ profile: name, err }, 'scheduled profile run failed'));
    }
    await plan(profile).catch((err: unknown) => logger.error({ profile: name, err }, 'cannot plan the next profile run'));
  };

  const planAll = async (): Promise<void> => {
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    for (const profile of config.profiles) await plan(profile);
  };

  return {
    name: 'profiles',
    async start() {
      await planAll();
      logger.info({ scheduled: timers.size }, 'profile scheduler started');
    },
    async reload(next) {
      config = next;
      await planAll();
    },
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await runner.stop();
    },
  };
}
