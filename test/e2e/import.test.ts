// End-to-end tests of `coffer import eml|mbox|maildir` run as a real child process on a real
// LevelDB store: hostile files archived byte for byte and flagged, idempotent re-runs and
// deduplication across folders, mbox and Maildir++ folder trees with UIDVALIDITY/UIDNEXT, and a
// file that cannot be read reported as a failure (exit 1) while the others are archived.
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import {
  cleanMessage,
  cofferJson,
  pseudoRandomBytes,
  runCoffer,
  showRaw,
  tempDir,
  writeFiles,
  type FoldersReport,
  type ImportSummary,
  type StatsReport,
  type VerifyJson,
} from './helpers.js';

/** Hostile files, none starting with an mbox `From ` postmark (eml import strips that line). */
function hostileFiles(): Record<string, Buffer> {
  const garbage = pseudoRandomBytes(4096, 0xc0ffee);
  garbage[0] = 0; // starts with NUL: never a header line, never a postmark
  for (let i = 0; i < garbage.length; i += 97) garbage[i] = 0; // NULs throughout
  const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');
  return {
    'a-garbage.bin': garbage,
    'b-no-headers.txt': Buffer.from('This is just a note\nwith no header section at all\n\nand a second paragraph\n'),
    'c-boundary-never-appears.eml': crlf([
      'From: a@example.com',
      'To: b@example.com',
      'Subject: broken multipart',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="never-used-boundary"',
      '',
      'There is no part delimiter anywhere in this body.',
      '--some-other-boundary',
      'Content-Type: text/plain',
      '',
      'still not a part',
      '',
    ]),
    'd-multipart-no-boundary.eml': crlf([
      'From: a@example.com',
      'To: b@example.com',
      'Subject: multipart without boundary',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative',
      '',
      'Body of a multipart that has no boundary parameter.',
      '',
    ]),
    // Raw ISO-8859-1 bytes in the header: é (0xe9), ü (0xfc), ß (0xdf); not valid UTF-8.
    'e-latin1-header.eml': crlf(['From: J\xfcrgen M\xfcller <jm@example.com>', 'To: b@example.com', 'Subject: Caf\xe9 Stra\xdfe', '', 'body', '']),
    'f-megabyte-header.eml': Buffer.concat([
      Buffer.from('From: a@example.com\r\nX-Huge: '),
      Buffer.alloc(1024 * 1024, 'x'),
      Buffer.from('\r\nSubject: one very long header line\r\n\r\nbody\r\n'),
    ]),
    'g-empty.eml': Buffer.alloc(0),
  };
}

test('hostile files are all archived byte for byte, the hostile ones flagged', async (t) => {
  const dataDir = await tempDir(t, 'hostile-data');
  const src = await tempDir(t, 'hostile-src');
  const hostile = hostileFiles();
  const clean = { 'y-clean-1.eml': Buffer.from(cleanMessage(1)), 'z-clean-2.eml': Buffer.from(cleanMessage(2)) };
  const files: Record<string, Buffer> = { ...hostile, ...clean };
  await writeFiles(src, files);
  const names = Object.keys(files).sort();

  const summary = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', 'hostile'], { dataDir });
  t.is(summary.failed, 0, JSON.stringify(summary.failures));
  t.is(summary.archived, Object.keys(clean).length);
  t.is(summary.unparseable, Object.keys(hostile).length);
  t.is(summary.alreadyArchived, 0);
  t.is(summary.archived + summary.unparseable, names.length);
  const flaggedNames = summary.flagged.map((f) => f.origin.split('/').pop()).sort();
  t.deepEqual(flaggedNames, Object.keys(hostile).sort());
  // Each file is flagged for what is actually wrong with it.
  const expectedProblem: Record<string, RegExp> = {
    'a-garbage.bin': /NUL byte|no header section/,
    'b-no-headers.txt': /no header section/,
    'c-boundary-never-appears.eml': /boundary never appears/,
    'd-multipart-no-boundary.eml': /without a boundary/,
    'e-latin1-header.eml': /not UTF-8/,
    'f-megabyte-header.eml': /longer than 998/,
    'g-empty.eml': /empty/,
  };
  for (const flagged of summary.flagged) {
    const name = flagged.origin.split('/').pop() ?? '';
    t.true(
      flagged.problems.some((problem) => expectedProblem[name]?.test(problem) === true),
      `${name}: ${JSON.stringify(flagged.problems)}`,
    );
  }
  t.is(summary.bytes, names.reduce((sum, name) => sum + (files[name]?.length ?? 0), 0));

  const folders = await cofferJson<FoldersReport>(t, ['folders', 'hostile'], { dataDir });
  t.deepEqual(
    folders.folders.map((f) => [f.path, f.messages, f.uidNext]),
    [['Inbox', names.length, names.length + 1]],
  );

  // Files are imported in name order and committed in that order, so UID i is the i-th name.
  for (const [i, name] of names.entries()) {
    const raw = await showRaw(t, 'hostile', 'Inbox', i + 1, { dataDir });
    t.true(raw.equals(files[name] ?? Buffer.alloc(1)), `uid ${i + 1} (${name}): ${raw.length} bytes archived, ${files[name]?.length} in the file`);
  }

  const report = await cofferJson<VerifyJson>(t, ['verify'], { dataDir });
  t.true(report.ok, JSON.stringify(report.problems));
  t.is(report.messages, names.length);
  t.is(report.listings, names.length);
});

test('re-importing is idempotent; a second folder lists the same stored messages', async (t) => {
  const dataDir = await tempDir(t, 'idem-data');
  const src = await tempDir(t, 'idem-src');
  const n = 5;
  await writeFiles(src, Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}.eml`, cleanMessage(100 + i)])));

  const first = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', 'idem'], { dataDir });
  t.like(first, { archived: n, alreadyArchived: 0, unparseable: 0, failed: 0 });
  const statsBefore = await cofferJson<StatsReport>(t, ['stats'], { dataDir });
  t.is(statsBefore.messages, n);

  const second = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', 'idem'], { dataDir });
  t.like(second, { archived: 0, alreadyArchived: n, unparseable: 0, failed: 0 });

  const copy = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', 'idem', '--folder', 'Copies/2024'], { dataDir });
  t.like(copy, { folder: 'Copies/2024', archived: n, alreadyArchived: 0, failed: 0 });

  const statsAfter = await cofferJson<StatsReport>(t, ['stats'], { dataDir });
  t.is(statsAfter.messages, n, 'distinct messages unchanged');
  t.is(statsAfter.bytes, statsBefore.bytes);
  t.is(statsAfter.storedBytes, statsBefore.storedBytes, 'no content stored twice');
  t.deepEqual(
    statsAfter.archives.map((a) => [a.name, a.messages]),
    [['idem', 2 * n]],
  );

  const folders = await cofferJson<FoldersReport>(t, ['folders', 'idem'], { dataDir });
  const byPath = new Map(folders.folders.map((f) => [f.path, f]));
  t.is(byPath.get('Inbox')?.messages, n);
  t.is(byPath.get('Inbox')?.uidNext, n + 1, 'the re-run assigned no UIDs');
  t.is(byPath.get('Copies/2024')?.messages, n);
  t.is(byPath.get('Copies')?.messages, 0, 'the parent folder exists, empty');

  const report = await cofferJson<VerifyJson>(t, ['verify'], { dataDir });
  t.true(report.ok, JSON.stringify(report.problems));
  t.is(report.listings, 2 * n);
});

/** Writes messages as an mboxrd: a postmark per message, `From ` lines in bodies quoted with '>'. */
function toMbox(messages: readonly string[]): string {
  return messages
    .map((message, i) => `From sender${i}@example.com Mon Jan  1 10:0${i}:00 2024\n${message.replace(/^(>*From )/gm, '>$1')}\n`)
    .join('');
}

test('mbox import: new archive created, bytes round-trip, re-run archives nothing', async (t) => {
  const dataDir = await tempDir(t, 'mbox-data');
  const src = await tempDir(t, 'mbox-src');
  const messages = [
    cleanMessage(1).replace(/\r\n/g, '\n'),
    // A body line starting with "From " must come back unquoted.
    cleanMessage(2, { body: 'Line one\nFrom the desk of Bob\n>From quoted already\nend' }).replace(/\r\n/g, '\n'),
    cleanMessage(3).replace(/\r\n/g, '\n'),
  ];
  const file = join(src, 'inbox.mbox');
  await writeFiles(src, { 'inbox.mbox': toMbox(messages) });

  const before = await cofferJson<StatsReport>(t, ['stats'], { dataDir });
  t.deepEqual(before.archives, []);

  const summary = await cofferJson<ImportSummary>(t, ['import', 'mbox', file, '--archive', 'mboxer'], { dataDir });
  t.like(summary, { archive: 'mboxer', folder: 'Inbox', archived: 3, alreadyArchived: 0, unparseable: 0, failed: 0 });

  const folders = await cofferJson<FoldersReport>(t, ['folders', 'mboxer'], { dataDir });
  t.is(folders.folders.length, 1);
  const inbox = folders.folders[0];
  t.is(inbox?.path, 'Inbox');
  t.is(inbox?.messages, 3);
  t.is(inbox?.uidNext, 4);
  t.true((inbox?.uidValidity ?? 0) > 0);

  for (const [i, message] of messages.entries()) {
    const raw = await showRaw(t, 'mboxer', 'Inbox', i + 1, { dataDir });
    t.is(raw.toString('latin1'), message, `uid ${i + 1}`);
  }

  const again = await cofferJson<ImportSummary>(t, ['import', 'mbox', file, '--archive', 'mboxer'], { dataDir });
  t.like(again, { archived: 0, alreadyArchived: 3, failed: 0 });
  const after = await cofferJson<FoldersReport>(t, ['folders', 'mboxer'], { dataDir });
  t.deepEqual(after.folders, folders.folders, 'counts, UIDVALIDITY and UIDNEXT unchanged by the re-run');
});

test('maildir import: Maildir++ subfolders become a folder tree', async (t) => {
  const dataDir = await tempDir(t, 'maildir-data');
  const src = await tempDir(t, 'maildir-src');
  const md = join(src, 'Maildir');
  // Names sort across cur/ and new/ by delivery time: that is the UID order.
  const layout: [string, string][] = [
    ['cur/1700000001.M1P1.host:2,S', cleanMessage(11)],
    ['new/1700000002.M2P1.host', cleanMessage(12)],
    ['cur/1700000003.M3P1.host:2,RS', cleanMessage(13)],
    ['.Work.Projects/cur/1700000004.M4P1.host:2,S', cleanMessage(14)],
    ['.Work.Projects/new/1700000005.M5P1.host', cleanMessage(15)],
  ];
  await writeFiles(md, Object.fromEntries(layout));
  await writeFiles(md, { 'tmp/1700000009.M9P1.host': cleanMessage(19), '.Work.Projects/tmp/x': 'in progress', dovecot_uidlist: '3 V1 N1\n' });

  const summary = await cofferJson<ImportSummary>(t, ['import', 'maildir', md, '--archive', 'maildirer'], { dataDir });
  t.like(summary, { archived: 5, alreadyArchived: 0, unparseable: 0, failed: 0 });

  const folders = await cofferJson<FoldersReport>(t, ['folders', 'maildirer'], { dataDir });
  t.deepEqual(
    folders.folders.map((f) => [f.path, f.messages, f.uidNext]),
    [
      ['Inbox', 3, 4],
      ['Work', 0, 1],
      ['Work/Projects', 2, 3],
    ],
  );
  for (const f of folders.folders) t.true(f.uidValidity > 0, `${f.path} UIDVALIDITY`);
  t.is(new Set(folders.folders.map((f) => f.uidValidity)).size, 3, 'each folder has its own UIDVALIDITY');

  const expected: [string, number, string][] = [
    ['Inbox', 1, cleanMessage(11)],
    ['Inbox', 2, cleanMessage(12)],
    ['Inbox', 3, cleanMessage(13)],
    ['Work/Projects', 1, cleanMessage(14)],
    ['Work/Projects', 2, cleanMessage(15)],
  ];
  for (const [folder, uid, message] of expected) {
    const raw = await showRaw(t, 'maildirer', folder, uid, { dataDir });
    t.is(raw.toString('latin1'), message, `${folder} uid ${uid}`);
  }

  const again = await cofferJson<ImportSummary>(t, ['import', 'maildir', md, '--archive', 'maildirer'], { dataDir });
  t.like(again, { archived: 0, alreadyArchived: 5, failed: 0 });
  const after = await cofferJson<FoldersReport>(t, ['folders', 'maildirer'], { dataDir });
  t.deepEqual(after.folders, folders.folders);
});

test('an unreadable file (dangling symlink) fails the import with exit 1; the rest is archived', async (t) => {
  const dataDir = await tempDir(t, 'dangling-data');
  const src = await tempDir(t, 'dangling-src');
  await writeFiles(src, { 'a.eml': cleanMessage(21), 'c.eml': cleanMessage(23) });
  await symlink(join(src, 'does-not-exist.eml'), join(src, 'b-dangling.eml'));

  const summary = await cofferJson<ImportSummary>(t, ['import', 'eml', src, '--archive', 'dangling'], { dataDir }, 1);
  t.like(summary, { archived: 2, failed: 1, unparseable: 0, alreadyArchived: 0 });
  t.is(summary.failures.length, 1);
  t.true(summary.failures[0]?.origin.endsWith('b-dangling.eml'), summary.failures[0]?.origin);
  t.true((summary.failures[0]?.error.length ?? 0) > 0);

  // The human-readable form names the failed file on stderr and exits 1 too.
  const text = await runCoffer(['import', 'eml', src, '--archive', 'dangling'], { dataDir });
  t.is(text.code, 1);
  t.regex(text.stderr, /failed: .*b-dangling\.eml/);

  const report = await cofferJson<VerifyJson>(t, ['verify'], { dataDir });
  t.true(report.ok, JSON.stringify(report.problems));
  t.is(report.messages, 2);
});
