// Runs archiving profiles: one run of a profile at a time (a second request while one runs gets
// the running one's answer refused), its mailboxes pulled at most `parallel` at once, every
// failure kept as a reason in the run record, which is stored as the profile's history. Stopping
// (daemon shutdown) ends running pulls at their next batch, so SIGTERM does not wait for a long
// first run; what they archived is kept and recorded.
import type { Config, ProfileConfig } from '../../config/index.js';
import { CofferError, describeError, ErrorCodes } from '../../errors.js';
import type { IngestPipeline } from '../../ingest/pipeline.js';
import type { Logger } from '../../log/logger.js';
import type { ProfileState, RunRecord } from '../../store/profile-state.js';
import type { ArchiveStore } from '../../store/store.js';
import { pullImapMailbox } from '../imap/pull.js';
import { pullPop3Mailbox } from '../pop3/pull.js';
import { RunStopped, RunTally, type MailboxJob, type PullContext } from './job.js';
import { mailboxJobs } from './mailboxes.js';

export interface RunnerDependencies {
  config(): Config;
  ingest(): IngestPipeline;
  store: ArchiveStore;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** The clock filters and deletion rules compare against (tests move it forward). */
  clock?: () => Date;
}

export type Trigger = RunRecord['trigger'];

export class ProfileRunner {
  private readonly running = new Map<string, Promise<RunRecord>>();
  private readonly stopping = new AbortController();
  private readonly state: ProfileState;

  constructor(private readonly deps: RunnerDependencies) {
    this.state = deps.store.profileState();
  }

  profile(name: string): ProfileConfig {
    const profile = this.deps.config().profiles.find((candidate) => candidate.name === name);
    if (profile === undefined) throw new CofferError(ErrorCodes.NotFound, `no profile named "${name}" is configured`);
    return profile;
  }

  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  /** Runs a profile now; refused while the same profile is running. */
  run(name: string, trigger: Trigger): Promise<RunRecord> {
    const profile = this.profile(name);
    if (this.running.has(name)) throw new CofferError(ErrorCodes.InvalidArgument, `profile ${name} is already running`, { temporary: true });
    if (this.stopping.signal.aborted) throw new CofferError(ErrorCodes.InvalidArgument, `profile ${name} is not run: Coffer is shutting down`, { temporary: true });
    const run = this.execute(profile, trigger).finally(() => this.running.delete(name));
    this.running.set(name, run);
    return run;
  }

  /** Ends the runs in progress at their next batch, recorded as stopped, and starts no more. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.running.values()]);
  }

  history(name: string, limit: number): Promise<RunRecord[]> {
    this.profile(name);
    return this.state.history(name, limit);
  }

  lastRun(name: string): Promise<RunRecord | undefined> {
    return this.state.history(name, 1).then((runs) => runs[0]);
  }

  private async execute(profile: ProfileConfig, trigger: Trigger): Promise<RunRecord> {
    const startedAt = (this.deps.clock?.() ?? new Date()).getTime();
    const logger = this.deps.logger.child({ profile: profile.name });
    const tally = new RunTally();
    let jobs: MailboxJob[] = [];
    let failedJobs = 0;
    logger.info({ trigger }, 'profile run started');
    try {
      jobs = await mailboxJobs(profile, this.deps.config(), this.deps.env);
      const previousRun = await this.lastRun(profile.name);
      const context: PullContext = {
        config: this.deps.config(),
        profile,
        ingest: this.deps.ingest(),
        store: this.deps.store,
        state: this.state,
        tally,
        now: new Date(startedAt),
        previousRun,
        logger,
        signal: this.stopping.signal,
      };
      const started = await forEachLimited(jobs, profile.parallel, context.signal, async (job) => {
        try {
          await (profile.server.protocol === 'imap' ? pullImapMailbox(job, context) : pullPop3Mailbox(job, context));
        } catch (err) {
          failedJobs += 1;
          tally.error({ mailbox: job.label, message: err instanceof RunStopped ? err.message : describeError(err) });
        }
      });
      if (started < jobs.length) {
        failedJobs += jobs.length - started;
        tally.error({ message: `${jobs.length - started} of ${jobs.length} mailboxes not pulled: ${new RunStopped().message}` });
      }
    } catch (err) {
      tally.error({ message: describeError(err) });
    }
    const record: RunRecord = {
      profile: profile.name,
      trigger,
      startedAt,
      finishedAt: Math.max(startedAt, (this.deps.clock?.() ?? new Date()).getTime()),
      status: statusOf(tally, jobs.length, failedJobs),
      mailboxes: jobs.length,
      archived: tally.archived,
      unchanged: tally.unchanged,
      skipped: tally.skipped,
      deleted: tally.deleted,
      refiled: tally.refiled,
      errors: tally.errors,
      errorsOmitted: tally.errorsOmitted,
    };
    await this.state.addRun(record);
    const { errors: _errors, ...summary } = record;
    logger[record.status === 'ok' ? 'info' : 'warn']({ ...summary, errorCount: record.errors.length + record.errorsOmitted }, 'profile run finished');
    return record;
  }
}

function statusOf(tally: RunTally, jobs: number, failedJobs: number): RunRecord['status'] {
  if (tally.errors.length === 0) return 'ok';
  return jobs > 0 && failedJobs < jobs ? 'partial' : 'failed';
}

/** Works through items, `limit` at a time, starting none once signal is aborted; how many were started. */
async function forEachLimited<T>(items: readonly T[], limit: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return next;
}
