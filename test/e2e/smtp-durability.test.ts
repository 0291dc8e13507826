// kill -9 under SMTP load (issue 3, "Nothing lost"): eight nodemailer clients send distinct messages
// over STARTTLS to a real `coffer serve`; once some hundreds got a 250 the daemon is SIGKILLed. The
// store must verify, a restart must start and stop cleanly, and every 250-acknowledged message must
// be listed exactly once in each folder it routes to (checked by SHA-256 in the store on disk).
// Every loop is bounded: by a message count per client, a poll count, or the daemon's exit.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createTransport } from 'nodemailer';
import { decodeEntry, decodeRecord } from '../../src/store/codec.js';
import { decodeEntryKey } from '../../src/store/layout.js';
import type { ArchiveRecord, FolderRecord } from '../../src/store/records.js';
import { cofferJson, freePort, openRawStore, sha256, startDaemon, sublevel, tempDir, waitForPort, type VerifyJson } from './helpers.js';

const CLIENTS = 8;
/** Upper bound per client; the kill comes long before (8 × 400 = 3,200 > KILL_AFTER_ACKS). */
const PER_CLIENT = 400;
/** Kill once this many messages have been acknowledged with 250. */
const KILL_AFTER_ACKS = 800;
const JOURNAL = 'journal@archive.test';

/** Distinct per (client, n); half go to alice, half come from bob, so two folders get each one. */
function durabilityMessage(client: number, n: number): Buffer {
  const toAlice = n % 2 === 0;
  return Buffer.from(
    [
      toAlice ? `From: Peer ${client} <peer${client}@example.net>` : 'From: Bob <bob@example.com>',
      toAlice ? 'To: Alice <alice@example.com>' : `To: Peer ${client} <peer${client}@example.net>`,
      `Subject: durability ${client}/${n}`,
      'Date: Wed, 03 Jan 2024 12:00:00 +0000',
      `Message-ID: <durability-${client}-${n}@example.net>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `Message ${n} of client ${client}.`,
      'x'.repeat(200 + ((client * 31 + n * 17) % 2000)),
      '',
    ].join('\r\n'),
  );
}

test('every message acknowledged with 250 survives kill -9 of the daemon, exactly once', async (t) => {
  const dir = await tempDir(t, 'smtp-durability');
  const dataDir = join(dir, 'data');
  const config = join(dir, 'coffer.yaml');
  const port = await freePort();
  await writeFile(
    config,
    [
      `dataDir: ${JSON.stringify(dataDir)}`,
      'archives:',
      '  - name: journal',
      '  - name: alice',
      '    address: alice@example.com',
      '  - name: bob',
      '    address: bob@example.com',
      '  - name: carol',
      '    address: carol@example.com',
      'imap: { starttls: null, tls: null }',
      'smtp:',
      `  listen: ["127.0.0.1:${port}"]`,
      '  endpoints:',
      `    - address: ${JOURNAL}`,
      '      archive: journal',
      '',
    ].join('\n'),
  );

  const daemon = startDaemon(t, config);
  await waitForPort(port, 'coffer serve', daemon.exitReason);

  // 1. Load, then SIGKILL once KILL_AFTER_ACKS messages have their 250.
  const acked = new Map<string, { client: number; n: number; toAlice: boolean }>();
  const unexpected: string[] = [];
  let killed = false;
  let failedAfterKill = 0;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    daemon.child.kill('SIGKILL');
  };
  const clientLoop = async (client: number): Promise<void> => {
    const transport = createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      pool: true,
      maxConnections: 1,
      maxMessages: Number.POSITIVE_INFINITY,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 10_000,
    });
    try {
      for (let n = 0; n < PER_CLIENT && !killed; n++) {
        const raw = durabilityMessage(client, n);
        try {
          const info = await transport.sendMail({ envelope: { from: `peer${client}@example.net`, to: [JOURNAL] }, raw });
          if (info.response.startsWith('250')) acked.set(sha256(raw), { client, n, toAlice: n % 2 === 0 });
          else unexpected.push(`client ${client} message ${n}: ${info.response}`);
        } catch (err) {
          // After the kill, failures are expected: the message may or may not be stored.
          if (!killed) unexpected.push(`client ${client} message ${n}: ${String(err)}`);
          else failedAfterKill += 1;
          break;
        }
        if (acked.size >= KILL_AFTER_ACKS) kill();
      }
    } finally {
      transport.close();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, client) => clientLoop(client)));
  t.deepEqual(unexpected, [], 'no send failed before the kill');
  t.true(killed, `the clients finished before ${KILL_AFTER_ACKS} acknowledgements (${acked.size}): raise PER_CLIENT`);
  const afterKill = await daemon.done;
  t.is(afterKill.signal, 'SIGKILL', `the daemon exited on its own: code ${String(afterKill.code)} ${afterKill.stderr}`);
  t.log(`${acked.size} messages acknowledged with 250; ${failedAfterKill} sends in flight failed with the kill`);

  // 2. The store opens and verifies without the daemon.
  const verified = await cofferJson<VerifyJson>(t, ['verify'], { config });
  t.true(verified.ok, JSON.stringify(verified.problems.slice(0, 5)));

  // 3. A restart starts (its SMTP port accepts) and stops cleanly with nothing sent.
  const again = startDaemon(t, config);
  await waitForPort(port, 'coffer serve (restart)', again.exitReason);
  again.child.kill('SIGTERM');
  const stopped = await again.done;
  t.is(stopped.code, 0, stopped.stderr);

  // 4. Every acknowledged message is listed exactly once where it routes, by SHA-256 on disk.
  const db = await openRawStore(t, dataDir);
  const archives = new Map<number, string>();
  for await (const value of sublevel(db, 'archive').values()) {
    const record = decodeRecord<ArchiveRecord>(value);
    archives.set(record.id, record.name);
  }
  const folders = new Map<number, { name: string; record: FolderRecord }>();
  for await (const value of sublevel(db, 'folder').values()) {
    const record = decodeRecord<FolderRecord>(value);
    folders.set(record.id, { name: `${archives.get(record.archiveId) ?? '?'}/${record.path.join('/')}`, record });
  }
  // folder name → sha → number of listings of that sha in the folder
  const listings = new Map<string, Map<string, number>>();
  for await (const [key, value] of sublevel(db, 'entry').iterator()) {
    const { folderId } = decodeEntryKey(key);
    const name = folders.get(folderId)?.name ?? `unknown folder ${folderId}`;
    const sha = decodeEntry(value).sha.toString('hex');
    const counts = listings.get(name) ?? new Map<string, number>();
    counts.set(sha, (counts.get(sha) ?? 0) + 1);
    listings.set(name, counts);
  }
  const storedMessages = new Set<string>();
  for await (const key of sublevel(db, 'message').keys()) storedMessages.add(key.toString('hex'));

  const missing: string[] = [];
  const wrongCount: string[] = [];
  for (const [sha, sent] of acked) {
    for (const folder of ['journal/Inbox', sent.toAlice ? 'alice/Inbox' : 'bob/Sent']) {
      const count = listings.get(folder)?.get(sha) ?? 0;
      if (count === 0) missing.push(`${folder}: client ${sent.client} message ${sent.n}`);
      else if (count !== 1) wrongCount.push(`${folder}: client ${sent.client} message ${sent.n} listed ${count} times`);
    }
    if (!storedMessages.has(sha)) missing.push(`message record of client ${sent.client} message ${sent.n}`);
  }
  t.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged messages missing`);
  t.deepEqual(wrongCount.slice(0, 10), [], 'no acknowledged message listed twice');

  // No duplicates anywhere: each folder's listing count equals its distinct SHA-256 count and its
  // stored counter; only the three routed folders exist; every stored message is listed in the journal.
  t.deepEqual([...listings.keys()].sort(), ['alice/Inbox', 'bob/Sent', 'journal/Inbox']);
  for (const [name, counts] of listings) {
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    t.is(total, counts.size, `${name}: every listing is a distinct message`);
    const folder = [...folders.values()].find((f) => f.name === name);
    t.is(folder?.record.messages, total, `${name}: the folder's message counter matches its listings`);
  }
  const journal = listings.get('journal/Inbox') ?? new Map<string, number>();
  t.is(journal.size, storedMessages.size, 'every stored message is in the journal archive once');
  t.true(journal.size >= acked.size, `journal holds ${journal.size} messages, ${acked.size} were acknowledged`);
  t.log(`store: ${storedMessages.size} messages (${storedMessages.size - acked.size} stored whose 250 never reached the client)`);
});
