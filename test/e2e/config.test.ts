// Configuration and usage errors end to end: an unknown key or a YAML syntax error stops the CLI
// with exit 2 and `file:line:col key` on stderr, the shipped example config loads, and usage
// mistakes (missing --archive, an archive name with '/', a bad UID or folder) exit 2 before the
// store is touched.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { assertRefused, cofferJson, REPO, runCoffer, tempDir, writeFiles, yamlString, type RunResult, type StatsReport } from './helpers.js';

function assertUsageError(t: ExecutionContext, result: RunResult, pattern: RegExp): void {
  assertRefused(t, result, 2, pattern);
}

test('unknown keys are reported as file:line:col key and exit 2', async (t) => {
  const dir = await tempDir(t, 'cfg-unknown');
  const dataDir = join(dir, 'data');
  const file = join(dir, 'coffer.yaml');
  await writeFiles(dir, {
    'coffer.yaml': ['# a config with two typos', `dataDir: ${yamlString(dataDir)}`, 'log:', '  level: info', '  colour: true', 'archive:', '  - name: alice', ''].join('\n'),
  });
  const result = await runCoffer(['stats'], { config: file });
  assertUsageError(t, result, /./);
  const lines = result.stderr.trim().split('\n');
  t.true(
    lines.some((line) => line.startsWith(`${file}:5:3 log.colour`)),
    result.stderr,
  );
  t.true(
    lines.some((line) => line.startsWith(`${file}:6:1 archive`)),
    result.stderr,
  );
  t.false(existsSync(join(dataDir, 'store')), 'no store is created from a bad config');
});

test('a YAML syntax error and a missing config file exit 2', async (t) => {
  const dir = await tempDir(t, 'cfg-syntax');
  const file = join(dir, 'broken.yaml');
  await writeFiles(dir, { 'broken.yaml': 'dataDir: /tmp/x\nlog: [unclosed\n' });
  const broken = await runCoffer(['verify'], { config: file });
  assertUsageError(t, broken, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+ `, 'm'));
  const missing = await runCoffer(['verify'], { config: join(dir, 'nope.yaml') });
  assertUsageError(t, missing, /nope\.yaml: cannot read configuration file/);
});

test('config/coffer.example.yaml loads (with dataDir moved to a temporary directory)', async (t) => {
  const dir = await tempDir(t, 'cfg-example');
  const dataDir = join(dir, 'data');
  const example = await readFile(join(REPO, 'config', 'coffer.example.yaml'), 'utf8');
  const moved = example.replace(/^dataDir: .*$/m, `dataDir: ${yamlString(dataDir)}`);
  t.not(moved, example, 'the example has a top-level dataDir line');
  await writeFiles(dir, { 'coffer.yaml': moved });
  const stats = await cofferJson<StatsReport>(t, ['stats'], { config: join(dir, 'coffer.yaml') });
  t.is(stats.messages, 0);
  t.true(existsSync(join(dataDir, 'store')), 'the store is created in the configured dataDir');
});

test('usage errors exit 2 before the store is opened', async (t) => {
  const dir = await tempDir(t, 'cfg-usage');
  const dataDir = join(dir, 'data');
  await writeFiles(dir, { 'src/m.eml': 'Subject: x\r\n\r\nbody\r\n' });
  const src = join(dir, 'src');
  assertUsageError(t, await runCoffer(['import', 'eml', src], { dataDir }), /--archive/);
  assertUsageError(t, await runCoffer(['import', 'eml', src, '--archive', 'a/b'], { dataDir }), /invalid archive name "a\/b"/);
  assertUsageError(t, await runCoffer(['show', 'ok', 'Inbox', '0'], { dataDir }), /invalid uid "0"/);
  assertUsageError(t, await runCoffer(['frobnicate'], { dataDir }), /unknown command/);
  t.false(existsSync(join(dataDir, 'store')), 'nothing was opened or created');
  // --folder is checked only once the store is open (it creates an empty store first), but the
  // answer is still a usage error.
  assertUsageError(t, await runCoffer(['import', 'mbox', src, '--archive', 'ok', '--folder', 'a//b'], { dataDir }), /invalid folder path "a\/\/b"/);
});
