// New and re-filed mail for open folders (issue 5, "Live"): imap-core asks its notifier for
// updates of the selected mailbox whenever a listener is poked. Coffer pokes the sessions whose
// selected folder a commit added listings to or removed listings from, and answers with what the
// folder got since the session's modification index: new UIDs (EXISTS) and removals (EXPUNGE).
// The index is a UID: a removal takes the folder's next UID as its mark (store/layout.ts), so
// both kinds of change are ordered on one scale that only grows. Archived messages never change,
// so a message's UID is also a valid CONDSTORE mod-sequence (RFC 7162 3.1.1).
import type { ArchiveStore } from '../store/store.js';
import type { ImapNotifier, ImapSession, MailboxUpdate } from '../vendor/imap-core.js';

export interface ArchiveNotifier extends ImapNotifier {
  /** Stops following the writer. */
  close(): void;
}

export function createArchiveNotifier(store: ArchiveStore, onError: (err: unknown) => void): ArchiveNotifier {
  const listeners = new Map<ImapSession, Set<() => void>>();
  const stopFollowing = store.getWriter().onCommit((group) => {
    const folders = new Set([...group.listings, ...group.unlistings].map((change) => change.folderId));
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
      Promise.all([store.folderUids(mailbox, modifyIndex), store.unlistedSince(mailbox, modifyIndex)]).then(
        ([uids, removed]) =>
          callback(null, [
            ...uids.map((uid): MailboxUpdate => ({ _id: `${mailbox}:${uid}`, command: 'EXISTS', uid, modseq: uid })),
            // A removal the session never saw the listing of (it opened the folder later) is skipped by imap-core.
            ...removed.map(({ mark, uid }): MailboxUpdate => ({ _id: `${mailbox}:-${mark}`, command: 'EXPUNGE', uid, modseq: mark })),
          ]),
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
