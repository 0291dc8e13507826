// SEARCH and UID SEARCH in the selected folder, answered by the search index (imap/search.ts).
// A criterion Coffer cannot answer gets NO [BADCHARSET] or NO [CANNOT] rather than a wrong result.
import { isCofferError, ErrorCodes } from '../../errors.js';
import type { ImapSession } from '../../vendor/imap-core.js';
import type { ImapContext } from '../context.js';
import { searchMailbox, type ImapSearchTerm } from '../search.js';

export function createOnSearch(context: ImapContext) {
  return async (mailbox: number, options: { query: unknown[] }, session: ImapSession): Promise<{ uidList: number[] | string }> => {
    const selected = context.sessions.of(session).selected;
    if (!selected || selected.folderId !== mailbox || !session.selected) return { uidList: [] };
    try {
      const uidList = await searchMailbox({ store: context.store, index: context.index, folderId: mailbox, uidList: session.selected.uidList }, options.query as ImapSearchTerm[]);
      return { uidList };
    } catch (err) {
      if (isCofferError(err, ErrorCodes.InvalidArgument)) return { uidList: /charset/i.test(err.message) ? 'BADCHARSET' : 'CANNOT' };
      throw err;
    }
  };
}
