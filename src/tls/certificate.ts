// The TLS certificate for SMTP STARTTLS (and IMAP): the PEM files named in the config, or a
// self-signed certificate generated on first start into <dataDir>/tls/ and reused afterwards.
// Self-signed is logged as a warning every start: clients cannot verify it, so it only protects
// against passive eavesdropping. Files are written atomically; the key is 0600 in a 0700 dir.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { generate } from 'selfsigned';
import { CofferError, ErrorCodes } from '../errors.js';
import type { Logger } from '../log/logger.js';

export interface CertificateOptions {
  /** `tls` from the config: absolute paths to PEM files. */
  tls?: { readonly cert: string; readonly key: string } | undefined;
  dataDir: string;
  logger: Logger;
  /** Name for a generated certificate; defaults to the machine's host name. */
  commonName?: string;
}

export interface Certificate {
  cert: string;
  key: string;
  selfSigned: boolean;
}

const VALIDITY_YEARS = 10;

export async function loadOrCreateCertificate(options: CertificateOptions): Promise<Certificate> {
  if (options.tls) return loadConfigured(options.tls);
  const dir = join(options.dataDir, 'tls');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const existing = await readPair(certFile, keyFile);
  let certificate: Certificate;
  if (existing && isUsable(existing.cert)) {
    certificate = { ...existing, selfSigned: true };
  } else {
    if (existing) options.logger.warn({ certFile }, 'self-signed TLS certificate expired; generating a new one');
    certificate = await generateInto(dir, certFile, keyFile, options.commonName ?? hostname());
  }
  options.logger.warn({ certFile }, 'using a self-signed TLS certificate; clients cannot verify it (set tls.cert and tls.key)');
  return certificate;
}

async function loadConfigured(files: { readonly cert: string; readonly key: string }): Promise<Certificate> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(files.cert, 'utf8'), readFile(files.key, 'utf8')]);
  } catch (err) {
    throw new CofferError(ErrorCodes.ConfigInvalid, `cannot read the TLS certificate or key (${describeFs(err)})`, { cause: err });
  }
  try {
    // Fails on unparsable PEM and on a key that does not belong to the certificate.
    createSecureContext({ cert, key });
  } catch (err) {
    throw new CofferError(ErrorCodes.ConfigInvalid, 'tls.cert and tls.key are not a usable certificate and matching private key', { cause: err });
  }
  return { cert, key, selfSigned: false };
}

async function readPair(certFile: string, keyFile: string): Promise<{ cert: string; key: string } | null> {
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    createPrivateKey(key);
    return { cert, key };
  } catch {
    // Missing or damaged (a crash between the two renames, a truncated file): generate afresh.
    return null;
  }
}

function isUsable(cert: string): boolean {
  try {
    return Date.parse(new X509Certificate(cert).validTo) > Date.now();
  } catch {
    return false;
  }
}

async function generateInto(dir: string, certFile: string, keyFile: string, commonName: string): Promise<Certificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + VALIDITY_YEARS);
  const generated = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: commonName },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  // Key first: a cert.pem without its key.pem would be useless, the reverse is merely regenerated.
  await writeAtomically(keyFile, generated.private, 0o600);
  await writeAtomically(certFile, generated.cert, 0o644);
  return { cert: generated.cert, key: generated.private, selfSigned: true };
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode, flag: 'w' });
  await chmod(temp, mode);
  await rename(temp, file);
}

function describeFs(err: unknown): string {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (err instanceof Error ? err.message : String(err));
}
