// Decides where a message is listed: which archives and folders, filed as sent or received, and
// under which INTERNALDATE. File imports name their target; journal intake (later) derives targets
// from addresses. Address matching ignores case.
import type { Direction } from '../store/records.js';
import { Directions } from '../store/records.js';
import type { Placement } from '../store/writer.js';
import type { PreparedContent } from './prepare.js';

/** Addresses of each configured archive (primary and secondary), lowercased. */
export type AddressBook = ReadonlyMap<string, ReadonlySet<string>>;

export interface Target {
  archive: string;
  folder: readonly string[];
}

export function placeInTargets(content: PreparedContent, targets: readonly Target[], addressBook: AddressBook, origin: string, sourceDate?: Date): Placement[] {
  return targets.map((target) => {
    const direction = directionFor(content, addressBook.get(target.archive));
    return { archive: target.archive, folder: target.folder, direction, origin, internalDate: internalDateOf(content, direction, sourceDate) };
  });
}

/** Sent when the archive's own address is the sender; otherwise received. */
export function directionFor(content: PreparedContent, archiveAddresses: ReadonlySet<string> | undefined): Direction {
  if (archiveAddresses && content.addresses.from.some((address) => archiveAddresses.has(address))) return Directions.Sent;
  return Directions.Received;
}

/** IMAP INTERNALDATE: when it was received (or, for sent mail, written), as best the message tells. */
export function internalDateOf(content: PreparedContent, direction: Direction, sourceDate?: Date): number {
  const source = sourceDate && Number.isFinite(sourceDate.getTime()) ? sourceDate.getTime() : undefined;
  const candidates = direction === Directions.Sent ? [content.date, content.receivedAt, source] : [content.receivedAt, source, content.date];
  return candidates.find((value): value is number => value !== undefined) ?? Date.now();
}
