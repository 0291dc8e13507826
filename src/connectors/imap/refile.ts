// Re-filing (issue 6, item 4). A message moved between two folders of a source mailbox vanishes
// from one and turns up under a new UID in the other. Its content is stored already, so archiving
// it there only adds a listing; what is left is to take it out of the folder it left, so that the
// archive mirrors the mailbox instead of listing the message twice. A message that vanished
// without turning up in another archived folder (deleted at the source, or moved to Trash or
// another excluded folder) stays where it was archived: an archive keeps what the mailbox lost.
// So does one of two copies deleted at the source: only a copy that arrived in its other folder
// since the previous run counts as the vanished one moved there (including what that run archived
// when it did not end ok, since it may have left its re-filing to this one).
import type { SourceItemRecord, SourceScope } from '../../store/profile-state.js';
import type { MailboxJob, PullContext } from '../profiles/job.js';

/** What a pull learnt of one source folder. */
export interface FolderOutcome {
  scope: SourceScope;
  /** The archive folder its mail is filed in; none when mail is routed by address (multidrop). */
  target: { archive: string; folder: string[] } | undefined;
  /** What the folder holds now that Coffer archived, by UID. */
  known: ReadonlyMap<number, SourceItemRecord>;
  /** What Coffer had archived from it that the source no longer has. */
  vanished: { id: { uidValidity: number; uid: number }; record: SourceItemRecord }[];
}

/**
 * Takes each vanished message out of its archive folder when the source now has it in a folder
 * filed elsewhere, then forgets every vanished item. Needs the outcome of every archived folder of
 * the mailbox: a folder missing from `outcomes` could be where a message went.
 */
export async function refileMoved(outcomes: readonly FolderOutcome[], job: MailboxJob, context: PullContext): Promise<void> {
  if (!outcomes.some((outcome) => outcome.vanished.length)) return;
  /** Where each content arrived since the previous run, by archive folder. */
  const arrivedIn = new Map<string, Set<string>>();
  /** Archive folders that still hold each content at the source. */
  const stillIn = new Map<string, Set<string>>();
  const previous = context.previousRun;
  const arrivedRecently = (archivedAt: number): boolean =>
    previous === undefined || archivedAt > previous.startedAt || (previous.status !== 'ok' && archivedAt === previous.startedAt);
  for (const { target, known } of outcomes) {
    if (!target) continue;
    for (const record of known.values()) {
      addTo(stillIn, record.sha, target);
      if (arrivedRecently(record.archivedAt)) addTo(arrivedIn, record.sha, target);
    }
  }
  for (const { scope, target, vanished } of outcomes) {
    const forget: { uidValidity: number; uid: number }[] = [];
    for (const { id, record } of vanished) {
      const sha = record.sha.toString('hex');
      const movedTo = arrivedIn.get(sha);
      // Moved: it arrived in another folder, and no copy of it is left in this one.
      if (target && movedTo && !stillIn.get(sha)?.has(folderKey(target))) {
        try {
          if (await context.ingest.unlist({ ...target, sha: record.sha })) context.tally.refiled += 1;
        } catch (err) {
          // Remembered still: the next run tries again.
          context.tally.error({ mailbox: job.label, folder: scope.folder, message: `UID ${id.uid}: moved at the source, not re-filed: ${err instanceof Error ? err.message : String(err)}` });
          continue;
        }
      }
      forget.push(id);
    }
    if (forget.length) await context.state.deleteItems(scope, forget);
  }
}

function addTo(map: Map<string, Set<string>>, sha: Buffer, target: { archive: string; folder: readonly string[] }): void {
  const key = sha.toString('hex');
  const folders = map.get(key) ?? new Set();
  folders.add(folderKey(target));
  map.set(key, folders);
}

function folderKey(target: { archive: string; folder: readonly string[] }): string {
  return `${target.archive}\u0000${target.folder.join('\u0000')}`;
}
