// imap-core's side of the hook adapter (callbacks.ts): a failure is logged and passed on as an
// Error, which imap-core answers with NO [TEMPFAIL] and no details.
import { settleCallback } from '../callbacks.js';
import type { Logger } from '../log/logger.js';

export function settle<T>(work: () => Promise<T>, callback: (err: Error | null, value?: T) => void, logger: Logger): void {
  settleCallback(
    work,
    callback,
    (err) => {
      logger.error({ err }, 'imap handler failed; answering NO [TEMPFAIL]');
      return err instanceof Error ? err : new Error(String(err));
    },
    logger,
  );
}
