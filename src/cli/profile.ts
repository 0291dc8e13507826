// `coffer profile list|run|test|folders|history`: archiving profiles from the command line. Runs and
// history need the store (they go through the daemon when it runs); test and folders only talk to
// the mail server.
import type { Config, ProfileConfig } from '../config/index.js';
import type { Coffer } from '../app.js';
import { probeProfile, type MailboxProbe } from '../connectors/profiles/probe.js';
import { describeDeleteRule } from '../connectors/profiles/rules.js';
import { deleteRuleOf } from '../connectors/profiles/policy.js';
import type { RunRecord } from '../store/profile-state.js';
import { formatTable, printJson, printLine, type Output } from './output.js';

function describeServer(profile: ProfileConfig): string {
  const { protocol, host, port, security } = profile.server;
  return `${protocol} ${host}:${port} ${security === 'none' ? 'plain' : security.toUpperCase()}`;
}

function describeSchedule(profile: ProfileConfig): string {
  const schedule = profile.schedule;
  if (schedule === undefined) return 'manual';
  if ('cron' in schedule) return `cron "${schedule.cron}"${schedule.timezone ? ` ${schedule.timezone}` : ''}`;
  const quiet = schedule.quietHours ? `, not ${schedule.quietHours.from}-${schedule.quietHours.to}` : '';
  return `every ${formatDuration(schedule.every)}${quiet}`;
}

function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export async function printProfileList(coffer: Coffer, output: Output, json: boolean): Promise<void> {
  const profiles = coffer.config.profiles;
  const rows = await Promise.all(
    profiles.map(async (profile) => {
      const last = await coffer.profiles().lastRun(profile.name);
      return {
        name: profile.name,
        kind: profile.kind,
        server: describeServer(profile),
        schedule: describeSchedule(profile),
        delete: describeDeleteRule(deleteRuleOf(profile)),
        running: coffer.profiles().isRunning(profile.name),
        lastRun: last ? { startedAt: new Date(last.startedAt).toISOString(), status: last.status, archived: last.archived, errors: last.errors.length + last.errorsOmitted } : null,
      };
    }),
  );
  if (json) return printJson(output, rows);
  if (!rows.length) return printLine(output.stdout, 'no profiles are configured');
  const lastRun = (row: (typeof rows)[number]): string =>
    row.running ? 'running now' : row.lastRun ? `${row.lastRun.startedAt} ${row.lastRun.status}, ${row.lastRun.archived} archived` : 'never run';
  printLine(output.stdout, formatTable(['PROFILE', 'KIND', 'SERVER', 'SCHEDULE', 'DELETE', 'LAST RUN'], rows.map((row) => [row.name, row.kind, row.server, row.schedule, row.delete, lastRun(row)]), 6));
}

export function printRun(run: RunRecord, output: Output, json: boolean): void {
  if (json) return printJson(output, runJson(run));
  const seconds = ((run.finishedAt - run.startedAt) / 1000).toFixed(1);
  printLine(
    output.stdout,
    `profile ${run.profile}: ${run.status} in ${seconds} s: ${run.mailboxes} mailbox${run.mailboxes === 1 ? '' : 'es'}, ${run.archived} archived, ${run.unchanged} already archived, ${run.skipped} skipped, ${run.refiled} re-filed, ${run.deleted} deleted, ${run.errors.length + run.errorsOmitted} errors`,
  );
  for (const error of run.errors) printLine(output.stdout, `  error: ${[error.mailbox, error.folder].filter(Boolean).join(' ')}${error.mailbox || error.folder ? ': ' : ''}${error.message}`);
  if (run.errorsOmitted) printLine(output.stdout, `  ... and ${run.errorsOmitted} more errors`);
}

function runJson(run: RunRecord): unknown {
  return { ...run, startedAt: new Date(run.startedAt).toISOString(), finishedAt: new Date(run.finishedAt).toISOString() };
}

export function printHistory(runs: readonly RunRecord[], output: Output, json: boolean): void {
  if (json) return printJson(output, runs.map(runJson));
  if (!runs.length) return printLine(output.stdout, 'no runs yet');
  printLine(
    output.stdout,
    formatTable(
      ['STARTED', 'TRIGGER', 'STATUS', 'SECONDS', 'ARCHIVED', 'UNCHANGED', 'SKIPPED', 'REFILED', 'DELETED', 'ERRORS'],
      runs.map((run) => [
        new Date(run.startedAt).toISOString(),
        run.trigger,
        run.status,
        ((run.finishedAt - run.startedAt) / 1000).toFixed(1),
        String(run.archived),
        String(run.unchanged),
        String(run.skipped),
        String(run.refiled),
        String(run.deleted),
        String(run.errors.length + run.errorsOmitted),
      ]),
      3,
    ),
  );
  const latest = runs[0];
  if (latest && latest.errors.length) {
    printLine(output.stdout, `errors of the latest run:`);
    for (const error of latest.errors) printLine(output.stdout, `  ${[error.mailbox, error.folder].filter(Boolean).join(' ')}${error.mailbox || error.folder ? ': ' : ''}${error.message}`);
  }
}

/** `profile test`: exit status 1 when any mailbox failed. */
export async function runProfileTest(profile: ProfileConfig, config: Config, env: NodeJS.ProcessEnv, output: Output, json: boolean): Promise<boolean> {
  const probes = await probeProfile(profile, config, env);
  if (json) printJson(output, probes);
  else for (const probe of probes) printLine(output.stdout, describeProbe(profile, probe));
  return probes.every((probe) => probe.ok);
}

function describeProbe(profile: ProfileConfig, probe: MailboxProbe): string {
  if (!probe.ok) return `${probe.mailbox}: FAILED: ${probe.error}`;
  const where = describeServer(profile);
  if (probe.folders === undefined) return `${probe.mailbox}: ok: connected (${where}), logged in, ${probe.messages} messages`;
  const archived = probe.folders.filter((folder) => folder.archived).length;
  return `${probe.mailbox}: ok: connected (${where}), logged in, ${probe.folders.length} folders, ${archived} to archive`;
}

/** `profile folders`: every folder of each mailbox, whether it is archived and why. */
export async function runProfileFolders(profile: ProfileConfig, config: Config, env: NodeJS.ProcessEnv, output: Output, json: boolean): Promise<boolean> {
  const probes = await probeProfile(profile, config, env);
  if (json) {
    printJson(output, probes.map((probe) => ({ mailbox: probe.mailbox, ok: probe.ok, ...(probe.error ? { error: probe.error } : {}), folders: probe.folders ?? [] })));
    return probes.every((probe) => probe.ok);
  }
  for (const probe of probes) {
    printLine(output.stdout, `${probe.mailbox}:`);
    if (!probe.ok) printLine(output.stdout, `  FAILED: ${probe.error}`);
    else if (probe.folders === undefined) printLine(output.stdout, '  (POP3 has no folders: the inbox is archived)');
    else {
      for (const folder of probe.folders) {
        printLine(output.stdout, `  ${folder.archived ? '[x]' : '[ ]'} ${folder.path.join('/')}${folder.sent ? '  (sent)' : ''}  - ${folder.reason}`);
      }
    }
  }
  return probes.every((probe) => probe.ok);
}
