// SELECT and EXAMINE (both read-only, see vendor/imap-core.ts): the folder's UIDs, read as keys
// only. The folder record is read first, so UIDNEXT can only be behind the listing just read,
// never ahead of it; it is raised to match. Opening a folder is audited.
import type { ImapSession, MailboxInfo } from '../../vendor/imap-core.js';
import type { ImapContext } from '../context.js';
import { findMailbox, visibleMailboxes } from '../mailboxes.js';

/** The mailbox id of an own INBOX that has no store folder yet: store folder ids start at 1. */
export const EMPTY_INBOX_ID = 0;

export function createOnOpen(context: ImapContext) {
  return async (path: string, session: ImapSession): Promise<MailboxInfo | 'NONEXISTENT'> => {
    const state = context.sessions.of(session);
    state.selected = null;
    const mailbox = findMailbox(state.user === null ? [] : await visibleMailboxes(context.store, context.config(), state.user), path);
    if (!mailbox) return 'NONEXISTENT';
    const folder = mailbox.folder && (await context.store.getFolderById(mailbox.folder.id));
    if (!folder) return { _id: EMPTY_INBOX_ID, uidList: [], uidValidity: 1, uidNext: 1, modifyIndex: 0 };
    const uidList = await context.store.folderUids(folder.id);
    const highest = uidList.at(-1) ?? 0;
    state.selected = { folderId: folder.id, archive: mailbox.archive, folder: folder.path.join('/') };
    context.audit.folderOpened(context.sessions.identity(session), { archive: mailbox.archive, folder: state.selected.folder });
    return { _id: folder.id, uidList, uidValidity: folder.uidValidity, uidNext: Math.max(folder.uidNext, highest + 1), modifyIndex: highest };
  };
}
