// Issue 3, "A full disk or a store error answers 451, never 250": the daemon's data directory sits on
// a 3 MB tmpfs. Deliveries get 250 until the disk is full, then 451 (the daemon stays up); once the
// filesystem grows, deliveries succeed again without a restart. Every 250 is in the store, which
// verifies. Mounting needs root, as CI has; without it the test fails and says so.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createTransport } from 'nodemailer';
import { cofferJson, freePort, startDaemon, tempDir, waitForPort, type FoldersReport, type VerifyJson } from './helpers.js';

const MAX_SENDS = 400;

function mount(args: string[]): void {
  const result = spawnSync('mount', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount ${args.join(' ')} failed (the test needs root): ${result.stderr}`);
}

test('a full disk answers 451, never 250, and delivery resumes once there is space', async (t) => {
  if (process.getuid?.() !== 0) t.fail('this test mounts a tmpfs and must run as root (as .ci/run does)');
  const dir = await tempDir(t, 'coffer-full-disk-');
  const volume = join(dir, 'volume');
  await mkdir(volume);
  mount(['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', volume]);
  t.teardown(() => {
    spawnSync('umount', ['-l', volume]);
  });
  const port = await freePort();
  const config = join(dir, 'coffer.yaml');
  await writeFile(
    config,
    [`dataDir: ${JSON.stringify(join(volume, 'data'))}`, 'archives:', '  - name: journal', 'imap: { starttls: null, tls: null }', 'smtp:', `  listen: ["127.0.0.1:${port}"]`, '  endpoints:', '    - address: journal@archive.test', '      archive: journal', ''].join('\n'),
  );
  const daemon = startDaemon(t, config);
  await waitForPort(port, 'coffer serve', daemon.exitReason);

  const transport = createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } });
  t.teardown(() => transport.close());
  const send = async (text: string): Promise<number> => {
    try {
      const info = await transport.sendMail({ from: 'sender@example.net', to: 'journal@archive.test', subject: 'full disk', text });
      return Number(info.response.slice(0, 3));
    } catch (err) {
      return (err as { responseCode?: number }).responseCode ?? -1;
    }
  };

  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < MAX_SENDS && refused < 5; i++) {
    const code = await send(randomBytes(60_000).toString('base64'));
    if (code === 250) accepted += 1;
    else if (code === 451) refused += 1;
    else t.fail(`unexpected reply ${code}`);
  }
  t.true(accepted > 0, 'some deliveries fit on the disk');
  t.is(refused, 5, 'a full disk is answered with 451');
  t.is(daemon.result(), undefined, 'the daemon is still running');

  // More space, no restart: deliveries succeed again.
  mount(['-o', 'remount,size=64m', volume]);
  for (let i = 0; i < 5; i++) t.is(await send(`after the disk grew ${i}`), 250);
  transport.close();

  daemon.child.kill('SIGTERM');
  t.is((await daemon.done).code, 0);
  const verified = await cofferJson<VerifyJson>(t, ['verify', '--json'], { config });
  t.true(verified.ok, JSON.stringify(verified.problems.slice(0, 5)));
  const folders = await cofferJson<FoldersReport>(t, ['folders', 'journal', '--json'], { config });
  t.is(folders.folders.find((f) => f.path === 'Inbox')?.messages, accepted + 5);
});
