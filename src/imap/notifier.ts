// New mail for open folders (issue 5, "Live"): imap-core asks its notifier for updates of the
// selected mailbox whenever a listener is poked. Coffer pokes the sessions whose selected folder
// a commit added listings to, and answers with the folder's UIDs above what the session knows.
// The mailbox's modification index is its highest UID: UIDs only grow and archived messages never
// change or go away, so that is a valid CONDSTORE mod-sequence (RFC 7162 3.1.1) too.
import type { ArchiveStore } from '../store/store.js';
import type { ImapNotifier, ImapSession, MailboxUpdate } from '../vendor/imap-core.js';

export interface ArchiveNotifier extends ImapNotifier {
  /** Stops following the writer. */
  close(): void;
}

export function createArchiveNotifier(store: ArchiveStore, onError: (err: unknown) => void): ArchiveNotifier {
  const listeners = new Map<ImapSession, Set<() => void>>();
  const stopFollowing = store.getWriter().onCommit((group) => {
    const folders = new Set(group.listings.map((listing) => listing.folderId));
    for (const [session, callbacks] of listeners) {
      const selected = session.selected;
      if (selected && folders.has(selected.mailbox)) for (const callback of callbacks) callback();
    }
  });
  return {
    addListener(session, listener) {
      const callbacks = listeners.get(session) ?? new Set();
      callbacks.add(listener);
      listeners.set(session, callbacks);
    },
    removeListener(session, listener) {
      const callbacks = listeners.get(session);
      callbacks?.delete(listener);
      if (callbacks?.size === 0) listeners.delete(session);
    },
    getUpdates(mailbox, modifyIndex, callback) {
      store.folderUids(mailbox, modifyIndex).then(
        (uids) => callback(null, uids.map((uid): MailboxUpdate => ({ _id: `${mailbox}:${uid}`, command: 'EXISTS', uid, modseq: uid }))),
        (err: unknown) => {
          onError(err);
          callback(err instanceof Error ? err : new Error(String(err)));
        },
      );
    },
    close() {
      stopFollowing();
      listeners.clear();
    },
  };
}
