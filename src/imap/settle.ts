// imap-core hooks are Node callbacks; Coffer's handlers are async. This adapter is the one place
// they meet: a handler's value goes to the callback, a rejection is logged and passed on, and
// imap-core answers it with NO [TEMPFAIL] and no details (CONVENTIONS.md, errors at the edge).
import type { Logger } from '../log/logger.js';

export function settle<T>(work: () => Promise<T>, callback: (err: Error | null, value?: T) => void, logger: Logger): void {
  let promise: Promise<T>;
  try {
    promise = work();
  } catch (err) {
    promise = Promise.reject(err);
  }
  promise
    .then(
      (value) => callback(null, value),
      (err: unknown) => {
        logger.error({ err }, 'imap handler failed; answering NO [TEMPFAIL]');
        callback(err instanceof Error ? err : new Error(String(err)));
      },
    )
    // imap-core's callback throwing (a connection closed meanwhile) must not become an unhandled rejection.
    .catch((err: unknown) => logger.error({ err }, 'imap-core callback failed'));
}
