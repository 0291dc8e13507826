// Encryption at rest end to end: with `encryption.keyFile` configured, archived bytes round-trip
// through `show --raw` while no stored content or metadata value gives away the message's text
// (checked on the raw LevelDB values, with an unencrypted store as the positive control); opening
// that store without the key, with another key or with a malformed key file fails clearly.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  assertRefused,
  cleanMessage,
  cofferJson,
  openRawStore,
  revealsPlaintext,
  runCoffer,
  showRaw,
  sublevel,
  tempDir,
  writeFiles,
  yamlString,
  type ImportSummary,
  type RunResult,
  type SearchJson,
  type ShowJson,
  type VerifyJson,
} from './helpers.js';

const SUBJECT_MARKER = 'Zanzibar-Quokka-7731';
const BODY_MARKER = 'marmalade-xylophone-4402';

function secretMessage(): string {
  return cleanMessage(41, { subject: `Secret plans ${SUBJECT_MARKER}`, body: `The body says ${BODY_MARKER} and nothing more.` });
}

async function writeConfig(dir: string, dataDir: string, keyFile?: string): Promise<string> {
  const file = join(dir, keyFile === undefined ? 'plain.yaml' : `${keyFile.split('/').pop() ?? 'key'}.yaml`);
  const lines = [`dataDir: ${yamlString(dataDir)}`, ...(keyFile === undefined ? [] : ['encryption:', `  keyFile: ${yamlString(keyFile)}`])];
  await writeFiles(dir, { [file.split('/').pop() ?? 'c.yaml']: `${lines.join('\n')}\n` });
  return file;
}

/** Every blob and metadata value in the store, read straight from LevelDB. */
async function storedValues(t: ExecutionContext, dataDir: string): Promise<Buffer[]> {
  const db = await openRawStore(t, dataDir);
  const values: Buffer[] = [];
  for (const space of ['blob', 'message']) for await (const value of sublevel(db, space).values()) values.push(value);
  await db.close();
  return values;
}

/** Every key and value of the search index's keyspaces. */
async function indexRecords(t: ExecutionContext, dataDir: string): Promise<Buffer[]> {
  const db = await openRawStore(t, dataDir);
  const records: Buffer[] = [];
  for (const space of ['searchPost', 'searchRev', 'searchDir', 'searchDocs', 'searchFolder', 'searchMeta']) {
    for await (const [key, value] of sublevel(db, space).iterator()) records.push(key, value);
  }
  await db.close();
  return records;
}

/** The words the index makes of the markers (lowercased, whole and by parts). */
const INDEXED_WORDS = ['zanzibar', 'quokka', 'zanzibar-quokka-7731', 'marmalade', 'xylophone'];

function assertCleanFailure(t: ExecutionContext, result: RunResult, pattern: RegExp): void {
  assertRefused(t, result, 1, pattern);
}

test('content is encrypted at rest and readable only with the right key', async (t) => {
  const dir = await tempDir(t, 'enc');
  const dataDir = join(dir, 'data');
  const src = join(dir, 'src');
  const message = secretMessage();
  await writeFiles(src, { 'secret.eml': message });
  const keyFile = join(dir, 'master.key');
  const otherKeyFile = join(dir, 'other.key');
  const shortKeyFile = join(dir, 'short.key');
  await writeFiles(dir, {
    'master.key': `${randomBytes(32).toString('hex')}\n`,
    'other.key': `${randomBytes(32).toString('hex')}\n`,
    'short.key': randomBytes(10),
  });
  const config = await writeConfig(dir, dataDir, keyFile);

  const summary = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', 'secret'], { config });
  t.like(summary, { archived: 1, failed: 0, unparseable: 0 });

  const raw = await showRaw(t, 'secret', 'Inbox', 1, { config });
  t.is(raw.toString('latin1'), message);
  const shown = await cofferJson<ShowJson>(t, ['show', 'secret', 'Inbox', '1'], { config });
  t.true(shown.subject.includes(SUBJECT_MARKER), 'metadata decrypts with the key');
  const report = await cofferJson<VerifyJson>(t, ['verify'], { config });
  t.true(report.ok, JSON.stringify(report.problems));

  const values = await storedValues(t, dataDir);
  t.is(values.length, 2, 'one content and one metadata value');
  for (const value of values) {
    t.false(revealsPlaintext(value, SUBJECT_MARKER), 'subject readable in a stored value');
    t.false(revealsPlaintext(value, BODY_MARKER), 'body readable in a stored value');
  }
  // The search index finds the message, and gives none of its words away on disk.
  const found = await cofferJson<SearchJson>(t, ['search', 'marmalade'], { config });
  t.is(found.total, 1);
  const records = await indexRecords(t, dataDir);
  t.true(records.length > 0);
  for (const record of records) for (const word of INDEXED_WORDS) t.false(revealsPlaintext(record, word), `"${word}" readable in the search index`);

  // No key configured at all (same data directory, through $COFFER_DATA).
  assertCleanFailure(t, await runCoffer(['stats'], { dataDir }), /encrypt[\s\S]*keyFile|keyFile[\s\S]*encrypt/i);
  assertCleanFailure(t, await runCoffer(['show', 'secret', 'Inbox', '1', '--raw'], { config: await writeConfig(dir, dataDir) }), /keyFile/);
  // Another valid key.
  assertCleanFailure(t, await runCoffer(['show', 'secret', 'Inbox', '1', '--raw'], { config: await writeConfig(dir, dataDir, otherKeyFile) }), /key[\s\S]*does not open the store/i);
  // A key file holding 10 bytes, and a key file that does not exist.
  const short = await runCoffer(['stats'], { config: await writeConfig(dir, dataDir, shortKeyFile) });
  t.not(short.code, 0);
  t.is(short.stdout.length, 0);
  t.true(short.stderr.includes(shortKeyFile), short.stderr);
  t.regex(short.stderr, /32 bytes/);
  t.notRegex(short.stderr, /unexpected error|\n\s+at /);
  const missing = await runCoffer(['stats'], { config: await writeConfig(dir, dataDir, join(dir, 'absent.key')) });
  t.not(missing.code, 0);
  t.is(missing.stdout.length, 0);
  t.regex(missing.stderr, /cannot read encryption key file .*absent\.key/);

  // After all the refused attempts the store still opens with its key and is intact.
  const after = await cofferJson<VerifyJson>(t, ['verify'], { config });
  t.true(after.ok, JSON.stringify(after.problems));
  t.is(after.messages, 1);
});

test('positive control: without a key the same message is recoverable from the stored values', async (t) => {
  const dir = await tempDir(t, 'plain');
  const dataDir = join(dir, 'data');
  const src = join(dir, 'src');
  await writeFiles(src, { 'secret.eml': secretMessage() });
  const summary = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', 'plain'], { dataDir });
  t.is(summary.archived, 1);
  const values = await storedValues(t, dataDir);
  t.true(
    values.some((value) => revealsPlaintext(value, BODY_MARKER)),
    'the check used on the encrypted store can find the body in an unencrypted one',
  );
  t.true(values.some((value) => revealsPlaintext(value, SUBJECT_MARKER)));
  t.is((await cofferJson<SearchJson>(t, ['search', 'marmalade'], { dataDir })).total, 1);
  const records = await indexRecords(t, dataDir);
  for (const word of INDEXED_WORDS) t.true(records.some((record) => revealsPlaintext(record, word)), `the same check finds "${word}" in a plain index`);
});
