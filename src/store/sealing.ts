// Sealing of stored values: Brotli compression, then optional AES-256-GCM encryption. The first
// byte says what was applied, so stores written with and without a key can be read alike. The
// record's key is the GCM associated data: a sealed value moved under another key fails to open.
// Brotli at quality 5 compresses mail ~5% better than deflate at similar speed (bench/README.md);
// its built-in dictionary helps most on small messages.
//
//   [flags u8][payload][crc32 u32]                         flags: 1 = Brotli, 2 = encrypted
//   [flags u8][nonce 12][tag 16][ciphertext]               when encrypted
//
// Unencrypted values carry a CRC-32 of the record's key and the stored payload: content is also
// checked against its SHA-256, but metadata is not, and a flipped byte (or a record moved under
// another key) could otherwise still decode into plausible wrong values.
// Encrypted values need none: the GCM tag authenticates them.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants, crc32 } from 'node:zlib';
import { CofferError, ErrorCodes } from '../errors.js';

const COMPRESSED = 1;
const ENCRYPTED = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;
const CRC_BYTES = 4;

export interface SealOptions {
  /** False for values that do not compress (the search index's varint-coded lists). Default true. */
  compress?: boolean;
}

export interface Sealer {
  readonly encrypts: boolean;
  seal(plain: Buffer, associated: Buffer, options?: SealOptions): Buffer;
  open(sealed: Buffer, associated: Buffer): Buffer;
}

export function createSealer(key: Buffer | null, quality = 5): Sealer {
  return {
    encrypts: key !== null,
    seal(plain, associated, options = {}) {
      let flags = 0;
      let payload = plain;
      if (plain.length > 64 && options.compress !== false) {
        const compressed = brotliCompressSync(plain, {
          params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_LGWIN]: windowBits(plain.length), [constants.BROTLI_PARAM_SIZE_HINT]: plain.length },
        });
        if (compressed.length < plain.length) {
          payload = compressed;
          flags |= COMPRESSED;
        }
      }
      if (!key) {
        const crc = Buffer.allocUnsafe(CRC_BYTES);
        crc.writeUInt32BE(checksum(payload, associated));
        return Buffer.concat([Buffer.of(flags), payload, crc]);
      }
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(associated);
      const encrypted = cipher.update(payload);
      cipher.final();
      return Buffer.concat([Buffer.of(flags | ENCRYPTED), nonce, cipher.getAuthTag(), encrypted]);
    },
    open(sealed, associated) {
      const { payload, compressed } = unwrap(sealed, associated, key);
      if (!compressed) return payload;
      try {
        return brotliDecompressSync(payload);
      } catch (err) {
        throw new CofferError(ErrorCodes.StoreCorrupt, 'compressed value cannot be decompressed', { cause: err });
      }
    },
  };
}

/**
 * Brotli's window: no larger than the value needs, up to 256 KiB. At 64 KiB or less Brotli switches
 * to the hasher it has for small windows, 8% faster on the corpus at the same ratio (bench/README.md).
 * The decoder reads the window from the stream, so values written with any window open alike.
 */
function windowBits(length: number): number {
  return length <= 1 << 16 ? 16 : 18;
}

/** Checks (or decrypts and authenticates) a sealed value: its payload, still compressed if it was. */
function unwrap(sealed: Buffer, associated: Buffer, key: Buffer | null): { payload: Buffer; compressed: boolean } {
  const flags = sealed[0];
  if (flags === undefined || flags > (COMPRESSED | ENCRYPTED)) {
    throw new CofferError(ErrorCodes.StoreCorrupt, 'stored value has an unknown format');
  }
  const compressed = (flags & COMPRESSED) !== 0;
  if (!(flags & ENCRYPTED)) {
    if (sealed.length < 1 + CRC_BYTES) throw new CofferError(ErrorCodes.StoreCorrupt, 'stored value is truncated');
    const payload = sealed.subarray(1, sealed.length - CRC_BYTES);
    if (checksum(payload, associated) !== sealed.readUInt32BE(sealed.length - CRC_BYTES)) {
      throw new CofferError(ErrorCodes.StoreCorrupt, 'stored value fails its checksum (damaged)');
    }
    return { payload, compressed };
  }
  if (!key) throw new CofferError(ErrorCodes.KeyMissing, 'stored value is encrypted and no encryption key is configured');
  if (sealed.length < HEADER_BYTES) throw new CofferError(ErrorCodes.StoreCorrupt, 'encrypted value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + NONCE_BYTES));
  decipher.setAAD(associated);
  decipher.setAuthTag(sealed.subarray(1 + NONCE_BYTES, HEADER_BYTES));
  try {
    return { payload: Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]), compressed };
  } catch (err) {
    throw new CofferError(ErrorCodes.StoreCorrupt, 'encrypted value failed authentication (damaged, or wrong key)', { cause: err });
  }
}

/** CRC-32 of the record key, continued over the payload. */
function checksum(payload: Buffer, associated: Buffer): number {
  // Node's crc32 drops the running value for a buffer without a backing store (an empty message
  // that crossed a worker boundary), so an empty payload adds nothing, explicitly.
  const keyCrc = crc32(associated);
  return payload.length ? crc32(payload, keyCrc) : keyCrc;
}
