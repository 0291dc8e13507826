// What Coffer knows about each IMAP connection beyond imap-core's session: who logged in, from
// where, and which archive folder is selected. Kept in a WeakMap so a closed connection's state
// goes with its session object.
import type { Logger } from '../log/logger.js';
import { displayIp } from '../net/address.js';
import type { ImapSession } from '../vendor/imap-core.js';
import type { FolderIdentity, SessionIdentity } from './audit.js';

export interface SessionState {
  readonly cid: string;
  readonly ip: string;
  /** The configured user name, set by a successful login. */
  user: string | null;
  /** The selected folder, for audit lines. */
  selected: (FolderIdentity & { folderId: number }) | null;
  readonly logger: Logger;
}

export class ImapSessions {
  private readonly states = new WeakMap<ImapSession, SessionState>();

  constructor(private readonly logger: Logger) {}

  of(session: ImapSession): SessionState {
    let state = this.states.get(session);
    if (!state) {
      const ip = displayIp(session.remoteAddress);
      state = { cid: session.id, ip, user: null, selected: null, logger: this.logger.child({ cid: session.id, ip }) };
      this.states.set(session, state);
    }
    return state;
  }

  /** The identity of a logged-in session; imap-core calls post-login hooks only after LOGIN. */
  identity(session: ImapSession): SessionIdentity {
    const state = this.of(session);
    return { cid: state.cid, ip: state.ip, user: state.user ?? '' };
  }
}
