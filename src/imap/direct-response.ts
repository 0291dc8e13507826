// FETCH responses made only of metadata (UID, FLAGS, MODSEQ, INTERNALDATE, RFC822.SIZE, ENVELOPE,
// BODYSTRUCTURE) and whole messages (BODY[], BODY.PEEK[], RFC822, with or without a partial range),
// written directly: byte for byte what imap-core's formatResponse and compiler produce
// (test/unit/imap/metadata-response.test.ts), without a response tree per message, without the
// linear look-up of the sequence number, and with the archived bytes copied once, not turned into
// strings and back. This is what clients ask for when they open a folder and when they sync it.
import type { FetchQueryItem } from '../vendor/imap-core.js';
import { compileValue, formatInternalDate } from '../vendor/imap-core.js';
import type { CompiledMetadata } from './metadata-cache.js';

const METADATA_ITEMS = new Set(['uid', 'flags', 'modseq', 'internaldate', 'rfc822.size', 'envelope', 'bodystructure']);

export interface DirectValues {
  uid: number;
  flags: readonly string[];
  internalDate: number;
  /** Needed when the query has RFC822.SIZE, ENVELOPE or BODYSTRUCTURE. */
  compiled: CompiledMetadata | null;
  /** Needed when the query has a whole-message item. */
  raw: Buffer | null;
}

/** BODY[], BODY.PEEK[] and RFC822: the whole message, served from the archived bytes. */
export function isWholeMessage(item: FetchQueryItem): boolean {
  return item.item === 'rfc822' || (item.item === 'body' && item.path === '' && item.type === 'content');
}

/** True when every item of a FETCH is one this writer can write. */
export function isDirectQuery(query: readonly FetchQueryItem[]): boolean {
  return query.every((item) => isWholeMessage(item) || (METADATA_ITEMS.has(item.item) && !item.partial && item.path === undefined));
}

/**
 * RFC 3501 7.4.2: the answer to a partial fetch names only the origin octet, "BODY[]<0>", whatever
 * length was asked; imap-core echoes the request's range, so it is cut to its origin (once per FETCH).
 */
export function answerPartialWithOrigin(item: FetchQueryItem): void {
  if (isWholeMessage(item) && Array.isArray(item.original.partial) && item.original.partial.length > 1) {
    item.original.partial = item.original.partial.slice(0, 1);
  }
}

/** The bytes of a whole-message item: all of them, or its partial range. */
export function wholeMessageBytes(item: FetchQueryItem, raw: Buffer): Buffer {
  if (!item.partial) return raw;
  const { startFrom, maxLength } = item.partial;
  return raw.subarray(startFrom, maxLength ? startFrom + maxLength : undefined);
}

export class DirectResponseWriter {
  private readonly names: string[];
  private readonly whole: boolean[];
  private readonly sequence = new Map<number, number>();

  constructor(
    private readonly query: readonly FetchQueryItem[],
    uidList: readonly number[],
  ) {
    this.whole = query.map(isWholeMessage);
    // The item names exactly as imap-core echoes the request: it compiles `original`.
    this.names = query.map((item) => {
      answerPartialWithOrigin(item);
      return compileValue(item.original);
    });
    uidList.forEach((uid, i) => this.sequence.set(uid, i + 1));
  }

  /**
   * The response without its final CRLF, as parts to write in order: text (binary strings, one
   * character per byte, as imap-core writes its compiled responses) and message bytes. Null for a
   * UID outside the session's view.
   */
  response(message: DirectValues): (string | Buffer)[] | null {
    const seq = this.sequence.get(message.uid);
    if (seq === undefined) return null;
    const parts: (string | Buffer)[] = [];
    let text = `* ${seq} FETCH (`;
    for (let i = 0; i < this.query.length; i++) {
      if (i > 0) text += ' ';
      text += `${this.names[i]} `;
      if (this.whole[i]) {
        const bytes = wholeMessageBytes(this.query[i]!, message.raw!);
        parts.push(`${text}{${bytes.length}}\r\n`, bytes);
        text = '';
      } else text += this.value(this.query[i]!.item, message);
    }
    parts.push(`${text})`);
    return parts;
  }

  private value(item: string, message: DirectValues): string {
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
        return String(message.compiled!.size);
      case 'envelope':
        return `(${message.compiled!.envelope})`;
      default:
        return `(${message.compiled!.bodystructure})`;
    }
  }
}
