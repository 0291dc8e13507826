// `coffer show` and lookups end to end: the metadata derived at ingest (decoded subject, addresses,
// attachment names) for a multipart fixture with a PDF attachment, and clear exit-1 answers with
// nothing on stdout for a UID, folder or archive that does not exist.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { assertRefused, cleanMessage, cofferJson, REPO, runCoffer, tempDir, writeFiles, type ImportSummary, type RunResult, type ShowJson } from './helpers.js';

const FIXTURE = join(REPO, 'test', 'fixtures', 'e2e', 'attachment.eml');

function assertNotFound(t: ExecutionContext, result: RunResult, pattern: RegExp): void {
  assertRefused(t, result, 1, pattern);
}

test('show: metadata with attachment names; missing uid, folder and archive exit 1', async (t) => {
  const dataDir = await tempDir(t, 'show-data');
  const src = await tempDir(t, 'show-src');
  await copyFile(FIXTURE, join(src, 'a-attachment.eml'));
  await writeFiles(src, { 'b-clean.eml': cleanMessage(51) });
  const summary = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', 'shows'], { dataDir });
  t.like(summary, { archived: 2, unparseable: 0, failed: 0 });

  const shown = await cofferJson<ShowJson>(t, ['show', 'shows', 'Inbox', '1'], { dataDir });
  t.is(shown.subject, 'Quarterly report – Q3', 'encoded-word subject decoded');
  t.deepEqual(shown.from, ['Report Bot <reports@example.com>']);
  t.deepEqual(shown.to, ['Alice Smith <alice@example.com>']);
  t.is(shown.messageId, '<report-q3@example.com>');
  t.deepEqual(
    shown.attachments.map((a) => [a.name, a.contentType]),
    [['report.pdf', 'application/pdf']],
  );
  t.deepEqual(shown.problems, []);
  t.true(shown.origin.endsWith('a-attachment.eml'), shown.origin);

  const plain = await cofferJson<ShowJson>(t, ['show', 'shows', 'Inbox', '2'], { dataDir });
  t.is(plain.subject, 'Test message 51');
  t.deepEqual(plain.attachments, [], 'a text body is not an attachment');

  const human = await runCoffer(['show', 'shows', 'Inbox', '1'], { dataDir });
  t.is(human.code, 0);
  const text = human.stdout.toString('utf8');
  t.regex(text, /Subject:\s+Quarterly report – Q3/);
  t.regex(text, /Attachment:\s+report\.pdf \(application\/pdf/);

  assertNotFound(t, await runCoffer(['show', 'shows', 'Inbox', '99'], { dataDir }), /no message with uid 99/);
  assertNotFound(t, await runCoffer(['show', 'shows', 'Inbox', '3', '--raw'], { dataDir }), /no message with uid 3/);
  assertNotFound(t, await runCoffer(['show', 'shows', 'Archive/2020', '1'], { dataDir }), /no folder "Archive\/2020"/);
  assertNotFound(t, await runCoffer(['show', 'nobody', 'Inbox', '1', '--json'], { dataDir }), /no archive named "nobody"/);
  assertNotFound(t, await runCoffer(['folders', 'nobody'], { dataDir }), /no archive named "nobody"/);
});
