// What every IMAP hook handler may use. Handlers are factories over this context (one file per
// hook in handlers/), so each can be built and tested with a real store and no server.
import type { LoginThrottle } from '../auth/throttle.js';
import type { Config } from '../config/index.js';
import type { SearchIndex } from '../search/search-index.js';
import type { ArchiveStore } from '../store/store.js';
import type { ImapAudit } from './audit.js';
import type { MetadataCache } from './metadata-cache.js';
import type { ImapSessions } from './sessions.js';

export interface ImapContext {
  store: ArchiveStore;
  index: SearchIndex;
  /** The configuration in force (a reload replaces it). */
  config(): Config;
  sessions: ImapSessions;
  audit: ImapAudit;
  throttle: LoginThrottle;
  /** Compiled ENVELOPE/BODYSTRUCTURE of recently fetched messages, shared by all sessions. */
  metadataCache: MetadataCache;
}
