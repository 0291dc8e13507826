// SMTP replies at the protocol edge, and THE adapter from our async handlers to smtp-server's
// callbacks (convention 3): a resolved promise calls back with its value, a rejected one with an
// error whose responseCode smtp-server sends. Only SmtpReply texts reach the client; anything
// else (a store failure, a bug) is logged and answered 451 4.3.0, so the sender retries later.
import type { SMTPServerError } from 'smtp-server';
import { settleCallback } from '../callbacks.js';
import type { Logger } from '../log/logger.js';

/** An intended SMTP reply: code plus text (the text carries the enhanced status code). */
export class SmtpReply extends Error implements SMTPServerError {
  readonly responseCode: number;

  constructor(responseCode: number, text: string) {
    super(text);
    this.name = 'SmtpReply';
    this.responseCode = responseCode;
  }
}

export const Replies = {
  accessDenied: () => new SmtpReply(554, '5.7.1 Access denied'),
  tooManyConnections: () => new SmtpReply(421, '4.7.0 Too many connections, try again later'),
  shuttingDown: () => new SmtpReply(421, '4.3.2 Service shutting down, try again later'),
  tlsRequired: () => new SmtpReply(530, '5.7.0 Must issue a STARTTLS command first'),
  authRequired: () => new SmtpReply(530, '5.7.0 Authentication required'),
  authFailed: () => new SmtpReply(535, '5.7.8 Authentication credentials invalid'),
  authThrottled: (seconds: number) => new SmtpReply(454, `4.7.0 Too many failed authentication attempts, try again in ${seconds} seconds`),
  unknownRecipient: () => new SmtpReply(550, '5.1.1 No such recipient here'),
  recipientNotAllowed: () => new SmtpReply(550, '5.7.1 Client not allowed to deliver to this recipient'),
  recipientNotAuthorized: () => new SmtpReply(550, '5.7.1 Not authorized to deliver to this recipient'),
  tooManyRecipients: () => new SmtpReply(452, '4.5.3 Too many recipients'),
  tooBig: () => new SmtpReply(552, '5.3.4 Message size exceeds fixed maximum message size'),
  temporaryFailure: () => new SmtpReply(451, '4.3.0 Temporary local error, try again later'),
} as const;

/** Maps any thrown value to the reply the client gets; logs what the client must not see. */
export function toReply(err: unknown, logger: Logger): SmtpReply {
  if (err instanceof SmtpReply) return err;
  logger.error({ err }, 'smtp handler failed; answering 451');
  return Replies.temporaryFailure();
}

/** Runs an async handler for a smtp-server hook and reports its outcome through `callback`. */
export function settle<T>(work: () => Promise<T>, callback: (err: SMTPServerError | null, value?: T) => void, logger: Logger): void {
  settleCallback(work, callback, (err) => toReply(err, logger), logger);
}
