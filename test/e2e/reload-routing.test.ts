// Issue 3, SIGHUP: a reloaded configuration changes routing for the next message. Mail for
// alice@example.com reaches only the journal until an archive with that address is configured and
// the daemon is sent SIGHUP; the next message is also filed in alice's archive. No restart.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { createTransport } from 'nodemailer';
import { cleanMessage, cofferJson, freePort, sleep, startDaemon, tempDir, waitForPort, type FoldersReport, type StatsReport } from './helpers.js';

test('SIGHUP applies new archive addresses to the routing of the next message', async (t) => {
  const dir = await tempDir(t, 'coffer-reload-');
  const config = join(dir, 'coffer.yaml');
  const port = await freePort();
  const yaml = (archives: string): string =>
    [`dataDir: ${JSON.stringify(join(dir, 'data'))}`, 'archives:', '  - name: journal', archives, 'imap: { starttls: null, tls: null }', 'smtp:', `  listen: ["127.0.0.1:${port}"]`, '  endpoints:', '    - address: journal@archive.test', '      archive: journal', ''].join('\n');
  await writeFile(config, yaml(''));
  const daemon = startDaemon(t, config);
  await waitForPort(port, 'coffer serve', daemon.exitReason);
  const transport = createTransport({ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } });
  t.teardown(() => transport.close());
  const send = (n: number) => transport.sendMail({ envelope: { from: `sender${n}@example.com`, to: ['journal@archive.test'] }, raw: cleanMessage(n) });

  t.regex((await send(1)).response, /^250 /);
  const before = await cofferJson<StatsReport>(t, ['stats', '--json'], { config });
  t.deepEqual(before.archives.map((a) => a.name), ['journal']);

  await writeFile(config, yaml('  - name: alice\n    address: alice@example.com'));
  daemon.child.kill('SIGHUP');
  // The reload is asynchronous: poll (bounded) until a message is routed to alice.
  let routed = false;
  for (let n = 2; n < 40 && !routed; n++) {
    t.regex((await send(n)).response, /^250 /);
    const stats = await cofferJson<StatsReport>(t, ['stats', '--json'], { config });
    routed = stats.archives.some((a) => a.name === 'alice');
    if (!routed) await sleep(100);
  }
  t.true(routed, 'after SIGHUP, mail to alice@example.com is filed in her archive');
  const alice = await cofferJson<FoldersReport>(t, ['folders', 'alice', '--json'], { config });
  t.deepEqual(alice.folders.map((f) => f.path), ['Inbox']);
  t.is(daemon.result(), undefined, 'no restart');
  daemon.child.kill('SIGTERM');
  t.is((await daemon.done).code, 0);
});
