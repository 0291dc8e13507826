// The records kept in the store, one type per keyspace value. These are the on-disk format:
// change a field only together with FORMAT_VERSION in layout.ts and a migration.

/** Per stored message, derived once at ingest; never rewritten. */
export interface MessageMeta {
  /** Byte length of the raw message. */
  size: number;
  /** Date header, ms since epoch; absent when missing or unparseable. */
  date?: number;
  /** When the message was received: topmost Received header, else the source's date; ms since epoch. */
  receivedAt?: number;
  /** 1 (highest) … 5 (lowest); 3 when unspecified. */
  priority: number;
  attachments: AttachmentInfo[];
  /** Why the message could not be parsed cleanly; empty for a clean message. It is archived regardless. */
  problems: string[];
  /** IMAP ENVELOPE and BODYSTRUCTURE as imap-core serves them (nested arrays holding Buffers). */
  envelope: unknown[];
  bodystructure: unknown[];
}

export interface AttachmentInfo {
  name: string | null;
  contentType: string;
  /** Encoded size in the raw message, bytes. */
  size: number;
}

export interface ArchiveRecord {
  id: number;
  name: string;
  createdAt: number;
}

export interface FolderRecord {
  id: number;
  archiveId: number;
  /** Folder path segments, e.g. ['Inbox'] or ['Projects', '2024']. */
  path: string[];
  uidValidity: number;
  uidNext: number;
  messages: number;
  /** Sum of raw sizes of the messages listed in this folder. */
  bytes: number;
  createdAt: number;
}

export const Directions = { Received: 'received', Sent: 'sent' } as const;
export type Direction = (typeof Directions)[keyof typeof Directions];

/** One listing of a stored message in a folder, under an IMAP UID. */
export interface EntryRecord {
  sha: Buffer;
  archivedAt: number;
  /** IMAP INTERNALDATE: the original received (or sent) date; ms since epoch. */
  internalDate: number;
  direction: Direction;
  /** Where the bytes came from: a file path, mbox#n, an SMTP session, a profile mailbox. */
  origin: string;
  /** Journal intake: the envelope recipients it was delivered to (Bcc recipients among them). */
  envelopeRecipients?: string[];
}

/** Store-wide counters, updated in the same batch as the messages they count. */
export interface Counters {
  nextArchiveId: number;
  nextFolderId: number;
  /** Id of the next content blob (content is stored under sequential ids, see layout.ts). */
  nextBlobId: number;
  /** Sequence number of the next change record (the feed the index and IMAP notifications follow). */
  nextChange: number;
  lastUidValidity: number;
  /** Distinct stored messages, their raw bytes, and the bytes their stored values take. */
  messages: number;
  rawBytes: number;
  storedBytes: number;
}

export interface StoreInfo {
  formatVersion: number;
  createdAt: number;
  /** Present when content is encrypted: a sealed known value that proves the key is right. */
  keyCheck?: Buffer;
}
