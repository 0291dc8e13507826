// One self-signed certificate per test process, shared by the SMTP and IMAP harnesses:
// generating RSA keys takes a moment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSilentLogger } from '../../src/log/logger.js';
import { loadOrCreateCertificate, type Certificate } from '../../src/tls/certificate.js';

let shared: Promise<Certificate> | undefined;

export function testCertificate(): Promise<Certificate> {
  shared ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-test-cert-'));
    try {
      return await loadOrCreateCertificate({ dataDir: dir, logger: createSilentLogger() });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return shared;
}
