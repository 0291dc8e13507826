// smtp-server and imap-core hooks are Node callbacks; Coffer's handlers are async. This is the one
// adapter between them: a handler's value goes to the callback, a failure (thrown or rejected) is
// turned into the protocol's error by `toError`, which each edge supplies (CONVENTIONS.md: errors
// map to replies only at the edge).
import type { Logger } from './log/logger.js';

export function settleCallback<T, E>(work: () => Promise<T>, callback: (err: E | null, value?: T) => void, toError: (err: unknown) => E, logger: Logger): void {
  let promise: Promise<T>;
  try {
    promise = work();
  } catch (err) {
    promise = Promise.reject(err);
  }
  promise
    .then(
      (value) => callback(null, value),
      (err: unknown) => callback(toError(err)),
    )
    // The library's callback itself throwing (a connection closed meanwhile) must not become an
    // unhandled rejection.
    .catch((err: unknown) => logger.error({ err }, 'protocol callback failed'));
}
