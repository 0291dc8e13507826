// Sealing of stored values: deflate compression, then optional AES-256-GCM encryption. The first
// byte says what was applied, so stores written with and without a key can be read alike. The
// record's key is the GCM associated data: a sealed value moved under another key fails to open.
//
//   [flags u8][payload]                                    flags: 1 = deflated, 2 = encrypted
//   [flags u8][nonce 12][tag 16][ciphertext]               when encrypted
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CofferError, ErrorCodes } from '../errors.js';

const DEFLATED = 1;
const ENCRYPTED = 2;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

export interface Sealer {
  readonly encrypts: boolean;
  seal(plain: Buffer, associated: Buffer): Buffer;
  open(sealed: Buffer, associated: Buffer): Buffer;
}

export function createSealer(key: Buffer | null, compressionLevel = 6): Sealer {
  return {
    encrypts: key !== null,
    seal(plain, associated) {
      let flags = 0;
      let payload = plain;
      if (plain.length > 64) {
        const deflated = deflateRawSync(plain, { level: compressionLevel });
        if (deflated.length < plain.length) {
          payload = deflated;
          flags |= DEFLATED;
        }
      }
      if (!key) return Buffer.concat([Buffer.of(flags), payload]);
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(associated);
      const encrypted = cipher.update(payload);
      cipher.final();
      return Buffer.concat([Buffer.of(flags | ENCRYPTED), nonce, cipher.getAuthTag(), encrypted]);
    },
    open(sealed, associated) {
      const flags = sealed[0];
      if (flags === undefined || flags > (DEFLATED | ENCRYPTED)) {
        throw new CofferError(ErrorCodes.StoreCorrupt, 'stored value has an unknown format');
      }
      let payload = sealed.subarray(1);
      if (flags & ENCRYPTED) {
        if (!key) throw new CofferError(ErrorCodes.KeyMissing, 'stored value is encrypted and no encryption key is configured');
        if (sealed.length < HEADER_BYTES) throw new CofferError(ErrorCodes.StoreCorrupt, 'encrypted value is truncated');
        const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + NONCE_BYTES));
        decipher.setAAD(associated);
        decipher.setAuthTag(sealed.subarray(1 + NONCE_BYTES, HEADER_BYTES));
        try {
          payload = Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]);
        } catch (err) {
          throw new CofferError(ErrorCodes.StoreCorrupt, 'encrypted value failed authentication (damaged, or wrong key)', { cause: err });
        }
      }
      if (flags & DEFLATED) {
        try {
          return inflateRawSync(payload);
        } catch (err) {
          throw new CofferError(ErrorCodes.StoreCorrupt, 'compressed value cannot be inflated', { cause: err });
        }
      }
      return payload;
    },
  };
}
