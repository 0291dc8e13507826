// Harness for IMAP integration tests: a real store and index in a temp dir (openCoffer), messages
// ingested through the one write path, the IMAP component on 127.0.0.1 ports chosen by the OS with
// a self-signed certificate, and ImapFlow as the client. Every wait is bounded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { testCertificate } from '../certificate.js';
import { ImapFlow } from 'imapflow';
import { openCoffer, type Coffer } from '../../../src/app.js';
import { hashPassword } from '../../../src/auth/password.js';
import { parseConfigText, type Config } from '../../../src/config/index.js';
import { createImapComponent, type ImapComponent } from '../../../src/imap/server.js';
import { createSilentLogger, type Logger } from '../../../src/log/logger.js';

export const PASSWORD = 'correct horse battery staple';
/** Fast scrypt parameters: the tests log in often; production uses DEFAULT_SCRYPT. */
const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

let sharedHash: Promise<string> | undefined;
export function passwordHash(): Promise<string> {
  sharedHash ??= hashPassword(PASSWORD, FAST_SCRYPT);
  return sharedHash;
}

/** Archives alice, bob, carol (no user) and users alice, bob, an admin and an auditor. */
export async function accountsYaml(extra = ''): Promise<string> {
  const hash = await passwordHash();
  return `
archives:
  - name: alice
    address: alice@example.com
  - name: bob
    address: bob@example.com
  - name: carol
    address: carol@example.com
users:
  - { name: alice, passwordHash: "${hash}", archives: { alice: read } }
  - { name: bob, passwordHash: "${hash}", archives: { bob: read, carol: read } }
  - { name: root, passwordHash: "${hash}", role: admin }
  - { name: audit, passwordHash: "${hash}", role: auditor }
${extra}`;
}

export interface ImapHarness {
  dir: string;
  config: Config;
  coffer: Coffer;
  imap: ImapComponent;
  /** Implicit-TLS port and STARTTLS port. */
  tlsPort: number;
  starttlsPort: number;
  /** Files a message into an archive folder through the ingest pipeline; its UID. */
  put(archive: string, folder: readonly string[], raw: Buffer | string): Promise<number>;
  /** A logged-in ImapFlow client over implicit TLS, closed at teardown. */
  client(user: string, options?: { password?: string }): Promise<ImapFlow>;
}

export async function startImap(t: ExecutionContext, options: { yaml?: string; logger?: Logger } = {}): Promise<ImapHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-imap-'));
  const file = join(dir, 'coffer.yaml');
  const yaml = `dataDir: ${join(dir, 'data')}\n${options.yaml ?? (await accountsYaml())}`;
  writeFileSync(file, yaml);
  const parsed = parseConfigText(yaml, { file, env: {} });
  // Port 0 is not valid in a config file (an administrator never means it); tests need it.
  const config: Config = { ...parsed, imap: { ...parsed.imap, starttls: '127.0.0.1:0', tls: '127.0.0.1:0' } };
  const coffer = await openCoffer(config);
  const imap = createImapComponent({ config, store: coffer.store, index: coffer.index, logger: options.logger ?? createSilentLogger(), certificate: await testCertificate() });
  await imap.start();
  const clients: ImapFlow[] = [];
  t.teardown(async () => {
    await Promise.all(clients.map((client) => client.logout().catch(() => client.close())));
    await imap.stop();
    await coffer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { tls, starttls } = imap.addresses();
  return {
    dir,
    config,
    coffer,
    imap,
    tlsPort: tls!,
    starttlsPort: starttls!,
    async put(archive, folder, raw) {
      const outcome = await coffer.ingest().ingest({ raw: Buffer.from(raw), origin: 'test', routing: { kind: 'explicit', targets: [{ archive, folder }] } });
      const placement = outcome.placements[0];
      if (!placement) throw new Error('message was not placed');
      return placement.uid;
    },
    async client(user, clientOptions = {}) {
      const client = imapClient(tls!, user, clientOptions.password ?? PASSWORD);
      clients.push(client);
      await client.connect();
      return client;
    },
  };
}

export function imapClient(port: number, user: string, pass: string): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: true,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    logger: process.env.IMAP_DEBUG ? undefined : false,
    // Bounded waits: a hung server fails the test instead of hanging it.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
}
