// Decides where a message is listed: which archives and folders, filed as sent or received, and
// under which INTERNALDATE. File imports and mailbox profiles name their target explicitly.
// Multidrop mailboxes are routed by header addresses (below). Journaled mail is routed by
// address: the endpoint's archive always gets a copy, and every archive whose primary or secondary
// address is the sender (filed as sent) or a recipient (filed as received), with recipients taken
// from To/Cc/Bcc and from the envelope, which is how Bcc recipients are credited. Case is ignored.
import type { Direction } from '../store/records.js';
import { Directions } from '../store/records.js';
import type { Placement } from '../store/writer.js';
import type { PreparedContent } from './prepare.js';

/** Addresses of each configured archive (primary and secondary), lowercased. */
export type AddressBook = ReadonlyMap<string, ReadonlySet<string>>;

export interface FolderNames {
  received: string;
  sent: string;
}

export interface Target {
  archive: string;
  folder: readonly string[];
  /** Filed as sent or received regardless of its addresses (a mailbox's sent folder says so). */
  direction?: Direction;
}

/** Explicit targets: a file import into a named archive and folder. */
export interface ExplicitRouting {
  kind: 'explicit';
  targets: readonly Target[];
}

/** Journaled mail: routed by its addresses plus the envelope it arrived with. */
export interface JournalRouting {
  kind: 'journal';
  /** The endpoint's own archive, which always receives a copy. */
  endpointArchive: string;
  /** SMTP MAIL FROM, or the journal report's Sender; null for the null sender. */
  envelopeSender: string | null;
  /** SMTP RCPT TO (journal addresses removed) or the journal report's recipients. */
  envelopeRecipients: readonly string[];
}

/**
 * A multidrop (catch-all) mailbox's mail: routed by its header addresses alone, Delivered-To and
 * X-Original-To counting as recipients (manual 2.9). Mail for no known address goes to
 * unknownArchive, or nowhere when that is null (the caller counts it as skipped).
 */
export interface MultidropRouting {
  kind: 'multidrop';
  unknownArchive: string | null;
}

export type Routing = ExplicitRouting | JournalRouting | MultidropRouting;

export interface RoutingContext {
  addressBook: AddressBook;
  folders: FolderNames;
}

export function placeMessage(content: PreparedContent, routing: Routing, context: RoutingContext, origin: string, sourceDate?: Date): Placement[] {
  const placed = (archive: string, folder: readonly string[], direction: Direction): Placement => {
    const placement: Placement = { archive, folder, direction, origin, internalDate: internalDateOf(content, direction, sourceDate) };
    // Kept with the listing: how journaled mail was addressed in transit (Bcc recipients included).
    if (routing.kind === 'journal' && routing.envelopeRecipients.length) placement.envelopeRecipients = routing.envelopeRecipients;
    return placement;
  };
  if (routing.kind === 'explicit') {
    return routing.targets.map((target) => placed(target.archive, target.folder, target.direction ?? directionFor(content, context.addressBook.get(target.archive))));
  }
  const senders = new Set(content.addresses.from);
  const recipients = new Set([...content.addresses.to, ...content.addresses.cc, ...content.addresses.bcc]);
  if (routing.kind === 'journal') {
    if (routing.envelopeSender) senders.add(routing.envelopeSender.toLowerCase());
    for (const address of routing.envelopeRecipients) recipients.add(address.toLowerCase());
  } else {
    for (const address of content.addresses.deliveredTo) recipients.add(address);
  }

  const placements = new Map<string, Placement>();
  const add = (archive: string, direction: Direction): void => {
    const folder = direction === Directions.Sent ? context.folders.sent : context.folders.received;
    placements.set(`${archive}\u0000${direction}`, placed(archive, [folder], direction));
  };
  for (const [archive, addresses] of context.addressBook) {
    if ([...senders].some((address) => addresses.has(address))) add(archive, Directions.Sent);
    if ([...recipients].some((address) => addresses.has(address))) add(archive, Directions.Received);
  }
  if (routing.kind === 'journal') {
    const endpointListed = [...placements.values()].some((placement) => placement.archive === routing.endpointArchive);
    if (!endpointListed) add(routing.endpointArchive, Directions.Received);
  } else if (placements.size === 0 && routing.unknownArchive !== null) {
    add(routing.unknownArchive, Directions.Received);
  }
  return [...placements.values()];
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
