// The mailbox tree a user sees over IMAP (DESIGN.md "IMAP access"): the folders of their own
// archive at the top level, its received-mail folder as INBOX, and every other archive they may
// read under "Other Archives/<archive>/". Built from the store on each request, so folders that
// ingest creates and grants that a reload changes show up without reconnecting.
import type { Config } from '../config/index.js';
import { mayRead, readableArchives } from '../search/access.js';
import type { FolderRecord } from '../store/records.js';
import type { ArchiveStore } from '../store/store.js';
import { findUser, ownArchive } from './accounts.js';

export const OTHER_ARCHIVES = 'Other Archives';
export const INBOX = 'INBOX';

export interface VisibleMailbox {
  /** The IMAP path, '/'-separated, unencoded (imap-core applies modified UTF-7). */
  path: string;
  archive: string;
  /** The store folder; null only for an own archive's INBOX that has received no mail yet. */
  folder: FolderRecord | null;
  /** RFC 6154 attribute, on the own archive's sent folder. */
  specialUse?: '\\Sent';
}

export async function visibleMailboxes(store: ArchiveStore, config: Config, userName: string): Promise<VisibleMailbox[]> {
  const user = findUser(config, userName);
  if (!user) return [];
  const scope = readableArchives(config, user.name);
  const own = ownArchive(config, user, scope)?.name;
  const received = config.folders.received.toLowerCase();
  const sent = config.folders.sent.toLowerCase();
  const mailboxes: VisibleMailbox[] = [];
  let hasInbox = false;
  for (const archive of await store.listArchives()) {
    if (!mayRead(scope, archive.name)) continue;
    const isOwn = archive.name === own;
    for (const folder of await store.listFolders(archive.id)) {
      const [top, ...rest] = folder.path;
      if (top === undefined) continue;
      if (!isOwn) {
        mailboxes.push({ path: [OTHER_ARCHIVES, archive.name, ...folder.path].join('/'), archive: archive.name, folder });
        continue;
      }
      // RFC 3501 5.1: INBOX is case-insensitive and always named so; its subfolders follow it.
      const isInbox = top.toLowerCase() === received;
      if (isInbox && rest.length === 0) hasInbox = true;
      const path = [isInbox ? INBOX : top, ...rest].join('/');
      const mailbox: VisibleMailbox = { path, archive: archive.name, folder };
      if (rest.length === 0 && top.toLowerCase() === sent) mailbox.specialUse = '\\Sent';
      mailboxes.push(mailbox);
    }
  }
  // Every IMAP account has an INBOX (RFC 3501 5.1); clients misbehave without one.
  if (!hasInbox) mailboxes.unshift({ path: INBOX, archive: own ?? '', folder: null });
  return mailboxes;
}

/** The mailbox at an IMAP path as imap-core normalised it (INBOX upper-cased). */
export function findMailbox(mailboxes: readonly VisibleMailbox[], path: string): VisibleMailbox | undefined {
  return mailboxes.find((mailbox) => mailbox.path === path);
}
