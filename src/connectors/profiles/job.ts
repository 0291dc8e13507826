// What one mailbox pull needs: the mailbox (login and where its mail goes) and the run it belongs
// to (the profile, the write path, the profile state, the tally the run history is made from).
import type { Config, ProfileConfig } from '../../config/index.js';
import type { IngestPipeline } from '../../ingest/pipeline.js';
import type { Logger } from '../../log/logger.js';
import type { RunError, RunRecord } from '../../store/profile-state.js';
import type { ProfileState } from '../../store/profile-state.js';
import type { ArchiveStore } from '../../store/store.js';

export interface MailboxLogin {
  user: string;
  password: string;
  /** Master-password profiles: the mailbox to open with the privileged login (SASL PLAIN authzid). */
  authzid?: string;
}

export type Destination = { kind: 'archive'; archive: string } | { kind: 'multidrop'; unknownArchive: string | null };

export interface MailboxJob {
  /** How history and logs name the mailbox: its address or login, never a password. */
  label: string;
  login: MailboxLogin;
  destination: Destination;
}

/** Counts and errors of one run, shared by its mailbox pulls. */
export class RunTally {
  static readonly MAX_ERRORS = 100;
  archived = 0;
  unchanged = 0;
  skipped = 0;
  deleted = 0;
  refiled = 0;
  readonly errors: RunError[] = [];
  errorsOmitted = 0;

  error(error: RunError): void {
    if (this.errors.length < RunTally.MAX_ERRORS) this.errors.push(error);
    else this.errorsOmitted += 1;
  }
}

export interface PullContext {
  config: Config;
  profile: ProfileConfig;
  ingest: IngestPipeline;
  store: ArchiveStore;
  state: ProfileState;
  tally: RunTally;
  /** The run's clock: filters and deletion rules compare against it. */
  now: Date;
  /** The profile's previous run; undefined for its first run. */
  previousRun: Pick<RunRecord, 'startedAt' | 'status'> | undefined;
  logger: Logger;
  /** Aborted when Coffer shuts down: pulls stop at their next batch (see RunStopped). */
  signal: AbortSignal;
}

/**
 * A run stopped early because Coffer is shutting down. Everything archived so far is recorded;
 * the next run resumes with the rest. Nothing is deleted or re-filed by a stopped run.
 */
export class RunStopped extends Error {
  constructor() {
    super('stopped: Coffer was shutting down; the next run goes on from here');
  }
}

/** Throws RunStopped once the run is to stop; called between batches and folders. */
export function throwIfStopped(context: Pick<PullContext, 'signal'>): void {
  if (context.signal.aborted) throw new RunStopped();
}

/** True when the store holds the content and lists it somewhere: the check before any deletion. */
export async function archiveHolds(store: ArchiveStore, sha: Buffer): Promise<boolean> {
  const [message, listings] = await Promise.all([store.getMessage(sha), store.listingsOf(sha)]);
  return message !== undefined && listings.length > 0;
}
