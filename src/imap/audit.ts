// The IMAP audit trail (issue 5, "Audit"): logins, failed logins, folders opened and, when
// imap.auditRetrievals is on, each message a client downloads. Lines name the user, the client
// address, the archive, the folder and the UID; never a password, a subject or any content.
import type { Logger } from '../log/logger.js';

export interface SessionIdentity {
  cid: string;
  ip: string;
  user: string;
}

export interface FolderIdentity {
  archive: string;
  folder: string;
}

export interface ImapAudit {
  loginSucceeded(who: SessionIdentity, method: string): void;
  loginFailed(who: SessionIdentity, method: string, reason: 'credentials' | 'throttled', retryAfter?: number): void;
  folderOpened(who: SessionIdentity, where: FolderIdentity): void;
  messageRetrieved(who: SessionIdentity, where: FolderIdentity, uid: number): void;
}

export function createImapAudit(logger: Logger, retrievals: () => boolean): ImapAudit {
  const audit = logger.child({ component: 'audit', service: 'imap' });
  return {
    loginSucceeded(who, method) {
      audit.info({ event: 'login', ...who, method }, 'imap login');
    },
    loginFailed(who, method, reason, retryAfter) {
      // A warning: repeated failures are what an administrator watches for.
      audit.warn({ event: 'login-failed', ...who, method, reason, ...(retryAfter === undefined ? {} : { retryAfter }) }, 'imap login failed');
    },
    folderOpened(who, where) {
      audit.info({ event: 'folder-opened', ...who, ...where }, 'imap folder opened');
    },
    messageRetrieved(who, where, uid) {
      if (retrievals()) audit.info({ event: 'message-retrieved', ...who, ...where, uid }, 'imap message retrieved');
    },
  };
}
