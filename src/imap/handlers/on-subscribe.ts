// SUBSCRIBE: a no-op for a mailbox the user can see (all of them are subscribed already), and
// NONEXISTENT otherwise. UNSUBSCRIBE is refused by the read-only command table (vendor/imap-core.ts).
import type { ImapSession } from '../../vendor/imap-core.js';
import type { ImapContext } from '../context.js';
import { findMailbox, visibleMailboxes } from '../mailboxes.js';

export function createOnSubscribe(context: ImapContext) {
  return async (path: string, session: ImapSession): Promise<true | 'NONEXISTENT'> => {
    const user = context.sessions.of(session).user;
    const mailboxes = user === null ? [] : await visibleMailboxes(context.store, context.config(), user);
    return findMailbox(mailboxes, path) ? true : 'NONEXISTENT';
  };
}
