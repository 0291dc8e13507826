// Reads the encryption key file named in the config. Accepted forms: 32 raw bytes, 64 hex
// characters, or base64 of 32 bytes (trailing newline allowed), as `openssl rand` prints them.
import { readFileSync } from 'node:fs';
import { CofferError, ErrorCodes } from '../errors.js';

export const KEY_BYTES = 32;

export function readKeyFile(path: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (err) {
    throw new CofferError(ErrorCodes.KeyMissing, `cannot read encryption key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
  if (content.length === KEY_BYTES) return content;
  const text = content.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  throw new CofferError(
    ErrorCodes.KeyInvalid,
    `encryption key file ${path} must hold 32 bytes: raw, 64 hex characters or base64 (e.g. \`openssl rand -hex 32\`)`,
  );
}
