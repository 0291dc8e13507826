// The flags every archived message carries over IMAP. The archive is read-only and keeps no
// per-user state yet, so every message is reported \Seen: an archive holds mail already delivered
// elsewhere, and a client showing thousands of "unread" archived messages helps nobody.
export const ARCHIVE_FLAGS: readonly string[] = ['\\Seen'];
