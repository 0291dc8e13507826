// Record encoding: standard msgpack (no msgpackr extensions), so the format is readable by any
// msgpack implementation. Buffers inside ENVELOPE/BODYSTRUCTURE survive as binary (JSON would
// turn them into objects and imap-core would put "[object Object]" on the wire).
import { isDeepStrictEqual } from 'node:util';
import { Packr } from 'msgpackr';
import { CofferError, ErrorCodes } from '../errors.js';
import { Directions, type EntryRecord, type MessageMeta } from './records.js';

const ENVELOPE_FROM = 2;
const ENVELOPE_SENDER = 3;
const ENVELOPE_REPLY_TO = 4;

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeRecord(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodeRecord<T>(bytes: Buffer): T {
  try {
    return packr.unpack(bytes) as T;
  } catch (err) {
    throw new CofferError(ErrorCodes.StoreCorrupt, 'stored record cannot be decoded', { cause: err });
  }
}

/**
 * MessageMeta on disk. imap-core fills ENVELOPE's sender and reply-to with the From addresses when
 * those headers are absent; storing them once (null = "same as from") saves a sixth of the
 * metadata, and expanding null back to from is exact because imap-core never leaves them null
 * unless from is null too.
 */
export function encodeMessageMeta(meta: MessageMeta): Buffer {
  const envelope = [...meta.envelope];
  for (const index of [ENVELOPE_SENDER, ENVELOPE_REPLY_TO]) if (isDeepStrictEqual(envelope[index], envelope[ENVELOPE_FROM])) envelope[index] = null;
  return encodeRecord({ ...meta, envelope });
}

export function decodeMessageMeta(bytes: Buffer): MessageMeta {
  const meta = decodeRecord<MessageMeta>(bytes);
  for (const index of [ENVELOPE_SENDER, ENVELOPE_REPLY_TO]) if (meta.envelope[index] === null) meta.envelope[index] = meta.envelope[ENVELOPE_FROM];
  return meta;
}

/**
 * EntryRecord on disk: a positional array, because there is one per listing (tens of millions)
 * and field names would be a third of each record.
 *   [sha, archivedAt, internalDate, direction (0 received, 1 sent), origin, envelopeRecipients?]
 */
export function encodeEntry(entry: EntryRecord): Buffer {
  const fields: unknown[] = [entry.sha, entry.archivedAt, entry.internalDate, entry.direction === Directions.Sent ? 1 : 0, entry.origin];
  if (entry.envelopeRecipients) fields.push(entry.envelopeRecipients);
  return encodeRecord(fields);
}

export function decodeEntry(bytes: Buffer): EntryRecord {
  const fields = decodeRecord<unknown>(bytes);
  if (!Array.isArray(fields) || (fields.length !== 5 && fields.length !== 6) || !Buffer.isBuffer(fields[0])) {
    throw new CofferError(ErrorCodes.StoreCorrupt, 'stored listing has an unknown shape');
  }
  const [sha, archivedAt, internalDate, direction, origin, envelopeRecipients] = fields as [Buffer, number, number, number, string, string[] | undefined];
  const entry: EntryRecord = { sha, archivedAt, internalDate, direction: direction === 1 ? Directions.Sent : Directions.Received, origin };
  if (envelopeRecipients) entry.envelopeRecipients = envelopeRecipients;
  return entry;
}
