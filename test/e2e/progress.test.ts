// The import progress bar appears on a terminal and nowhere else: run under a real pseudo-terminal
// (util-linux `script`), the CLI draws it on stderr; piped, as in every other test, it does not.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { cleanMessage, REPO, runCoffer, tempDir, writeFiles } from './helpers.js';

const shellQuote = (value: string): string => `'${value.replaceAll("'", "'\\''")}'`;

test('import draws a progress bar on a terminal, and none when piped', async (t) => {
  const dir = await tempDir(t, 'coffer-progress-');
  await writeFiles(join(dir, 'mail'), { 'a.eml': cleanMessage(1), 'b.eml': cleanMessage(2), 'c.eml': cleanMessage(3) });
  const command = [process.execPath, '--import', 'tsx', join(REPO, 'src', 'main.ts'), 'import', 'eml', join(dir, 'mail'), '--archive', 'demo'].map(shellQuote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, COFFER_DATA: join(dir, 'data') };
  delete env.COFFER_CONFIG;
  const onTerminal = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
  t.is(onTerminal.status, 0, onTerminal.stderr);
  t.regex(onTerminal.stdout, /100% \| \d+\/\d+ bytes \| 3 messages/);
  t.regex(onTerminal.stdout, /archived\s+3/);

  const piped = await runCoffer(['import', 'eml', join(dir, 'mail'), '--archive', 'demo'], { dataDir: join(dir, 'data') });
  t.is(piped.code, 0);
  t.notRegex(piped.stderr, /bytes \|/);
  t.regex(piped.stdout.toString(), /already archived\s+3/);
});
