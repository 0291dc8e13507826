// Record encoding: standard msgpack (no msgpackr extensions), so the format is readable by any
// msgpack implementation. Buffers inside ENVELOPE/BODYSTRUCTURE survive as binary (JSON would
// turn them into objects and imap-core would put "[object Object]" on the wire).
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeRecord(value: unknown): Buffer {
  return packr.pack(value);
}

export function decodeRecord<T>(bytes: Buffer): T {
  return packr.unpack(bytes) as T;
}
