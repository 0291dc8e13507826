// LIST (and XLIST): every mailbox the user may see. imap-core filters by the pattern and adds the
// \Noselect parents ("Other Archives", "Other Archives/<archive>") and \HasChildren itself.
import type { ImapSession, ListedMailbox } from '../../vendor/imap-core.js';
import type { ImapContext } from '../context.js';
import { visibleMailboxes } from '../mailboxes.js';

export function createOnList(context: ImapContext) {
  return async (_pattern: string, session: ImapSession): Promise<ListedMailbox[]> => {
    const user = context.sessions.of(session).user;
    if (user === null) return [];
    const mailboxes = await visibleMailboxes(context.store, context.config(), user);
    return mailboxes.map(({ path, specialUse }) => (specialUse ? { path, specialUse } : { path }));
  };
}
