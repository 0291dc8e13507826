// The TLS certificate: generated self-signed on first start (key 0600 in a 0700 dir, a warning
// logged) and reused later; configured PEM files are used as they are, and a broken pair refused.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { isCofferError } from '../../../src/errors.js';
import { createSilentLogger } from '../../../src/log/logger.js';
import { loadOrCreateCertificate } from '../../../src/tls/certificate.js';
import { tempDir } from '../../unit/helpers.js';
import { captureLogger } from './helpers.js';

test('self-signed on first start, reused afterwards, with private permissions and a warning', async (t) => {
  const dataDir = tempDir(t);
  const { logger, lines } = captureLogger();
  const first = await loadOrCreateCertificate({ dataDir, logger });
  t.true(first.selfSigned);
  t.regex(first.cert, /BEGIN CERTIFICATE/);
  t.is(statSync(join(dataDir, 'tls')).mode & 0o777, 0o700);
  t.is(statSync(join(dataDir, 'tls/key.pem')).mode & 0o777, 0o600);
  t.is(readFileSync(join(dataDir, 'tls/cert.pem'), 'utf8'), first.cert);
  const second = await loadOrCreateCertificate({ dataDir, logger });
  t.is(second.cert, first.cert);
  t.is(second.key, first.key);
  t.true(lines().filter((line) => line.level === 40 && /self-signed/.test(String(line.msg))).length >= 2);
});

test('configured PEM files are used; a mismatched pair or a missing file is refused', async (t) => {
  const dir = tempDir(t);
  const a = await loadOrCreateCertificate({ dataDir: join(dir, 'a'), logger: createSilentLogger() });
  const b = await loadOrCreateCertificate({ dataDir: join(dir, 'b'), logger: createSilentLogger() });
  writeFileSync(join(dir, 'cert.pem'), a.cert);
  writeFileSync(join(dir, 'key.pem'), a.key);
  writeFileSync(join(dir, 'other-key.pem'), b.key);
  const loaded = await loadOrCreateCertificate({ tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }, dataDir: join(dir, 'c'), logger: createSilentLogger() });
  t.deepEqual(loaded, { cert: a.cert, key: a.key, selfSigned: false });
  const mismatched = await t.throwsAsync(loadOrCreateCertificate({ tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'other-key.pem') }, dataDir: dir, logger: createSilentLogger() }));
  t.true(isCofferError(mismatched));
  const missing = await t.throwsAsync(loadOrCreateCertificate({ tls: { cert: join(dir, 'nope.pem'), key: join(dir, 'key.pem') }, dataDir: dir, logger: createSilentLogger() }));
  t.regex(missing?.message ?? '', /no such file/);
});
