// FETCH responses that carry only metadata (UID, FLAGS, MODSEQ, INTERNALDATE, RFC822.SIZE,
// ENVELOPE, BODYSTRUCTURE), written directly: byte for byte what imap-core's formatResponse and
// compiler produce (test/unit/imap/metadata-response.test.ts), without building a response tree
// per message or looking the sequence number up in the UID list (which is linear per message).
// This is what every client asks for when it opens a folder.
import type { FetchQueryItem } from '../vendor/imap-core.js';
import { compileValue, formatInternalDate } from '../vendor/imap-core.js';
import type { CompiledMetadata } from './metadata-cache.js';

const METADATA_ITEMS = new Set(['uid', 'flags', 'modseq', 'internaldate', 'rfc822.size', 'envelope', 'bodystructure']);

export interface MetadataValues {
  uid: number;
  flags: readonly string[];
  internalDate: number;
  compiled: CompiledMetadata;
}

/** True when every item of a FETCH is one this writer can write. */
export function isMetadataQuery(query: readonly FetchQueryItem[]): boolean {
  return query.every((item) => METADATA_ITEMS.has(item.item) && !item.partial && item.path === undefined);
}

export class MetadataResponseWriter {
  private readonly names: string[];
  private readonly sequence = new Map<number, number>();

  constructor(
    private readonly query: readonly FetchQueryItem[],
    uidList: readonly number[],
  ) {
    // The item names exactly as the client's request is echoed (imap-core compiles `original`).
    this.names = query.map((item) => compileValue(item.original));
    uidList.forEach((uid, i) => this.sequence.set(uid, i + 1));
  }

  /** The response line without its CRLF, or null for a UID outside the session's view. */
  response(message: MetadataValues): string | null {
    const seq = this.sequence.get(message.uid);
    if (seq === undefined) return null;
    let out = `* ${seq} FETCH (`;
    for (let i = 0; i < this.query.length; i++) {
      if (i > 0) out += ' ';
      out += `${this.names[i]} ${this.value(this.query[i]!.item, message)}`;
    }
    return `${out})`;
  }

  private value(item: string, message: MetadataValues): string {
    switch (item) {
      case 'uid':
        return String(message.uid);
      case 'modseq':
        // A message's mod-sequence is its UID (notifier.ts).
        return `(${message.uid})`;
      case 'flags':
        return `(${message.flags.join(' ')})`;
      case 'internaldate':
        // Always contains spaces, so imap-core writes it as a quoted string.
        return JSON.stringify(formatInternalDate(new Date(message.internalDate)));
      case 'rfc822.size':
        return String(message.compiled.size);
      case 'envelope':
        return `(${message.compiled.envelope})`;
      default:
        return `(${message.compiled.bodystructure})`;
    }
  }
}
