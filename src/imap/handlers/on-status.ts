// STATUS: counts straight from the folder record, which every commit keeps current. Every
// archived message is \Seen (flags.ts), so UNSEEN is 0; HIGHESTMODSEQ is the highest UID (notifier.ts).
import type { ImapSession, StatusInfo } from '../../vendor/imap-core.js';
import type { ImapContext } from '../context.js';
import { findMailbox, visibleMailboxes } from '../mailboxes.js';

export function createOnStatus(context: ImapContext) {
  return async (path: string, session: ImapSession): Promise<StatusInfo | 'NONEXISTENT'> => {
    const user = context.sessions.of(session).user;
    const mailbox = findMailbox(user === null ? [] : await visibleMailboxes(context.store, context.config(), user), path);
    if (!mailbox) return 'NONEXISTENT';
    const folder = mailbox.folder && (await context.store.getFolderById(mailbox.folder.id));
    if (!folder) return { messages: 0, uidNext: 1, uidValidity: 1, unseen: 0, highestModseq: 0 };
    return { messages: folder.messages, uidNext: folder.uidNext, uidValidity: folder.uidValidity, unseen: 0, highestModseq: folder.uidNext - 1 };
  };
}
