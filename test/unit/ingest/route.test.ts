// placeMessage: journaled mail is listed in every archive whose address is a sender or recipient
// (header or envelope, so Bcc-only recipients are credited), the endpoint's archive always gets a
// copy, and explicit targets from file imports are used as given.
import test from 'ava';
import { prepareContent } from '../../../src/ingest/prepare.js';
import { placeMessage, type AddressBook, type JournalRouting, type RoutingContext } from '../../../src/ingest/route.js';
import { Directions } from '../../../src/store/records.js';
import { createSealer } from '../../../src/store/sealing.js';
import type { Placement } from '../../../src/store/writer.js';
import { message } from '../helpers.js';

const addressBook: AddressBook = new Map([
  ['journal', new Set(['journal@archive.example.com'])],
  ['alice', new Set(['alice@example.com', 'a.smith@example.com'])],
  ['bob', new Set(['bob@example.org'])],
  ['dave', new Set(['dave@example.org', 'd.secret@example.org'])],
  ['zoe', new Set(['zoe@example.org'])],
]);
const context: RoutingContext = { addressBook, folders: { received: 'Inbox', sent: 'Sent' } };

const content = (fields: Parameters<typeof message>[0] = {}) => prepareContent(message(fields), createSealer(null));

function journal(envelopeSender: string | null, envelopeRecipients: string[]): JournalRouting {
  return { kind: 'journal', endpointArchive: 'journal', envelopeSender, envelopeRecipients };
}

/** "archive folder direction" lines, sorted, so assertions read like the expected listing. */
function listing(placements: Placement[]): string[] {
  return placements.map((p) => `${p.archive} ${p.folder.join('/')} ${p.direction}`).sort();
}

test('the endpoint archive always gets a copy, in the received folder', (t) => {
  const placements = placeMessage(content({ from: 'stranger@elsewhere.example', to: 'other@elsewhere.example' }), journal(null, []), context, 'smtp');
  t.deepEqual(listing(placements), ['journal Inbox received']);
});

test('an archive whose alias is only an envelope (Bcc) recipient is filed as received', (t) => {
  const placements = placeMessage(content({ from: 'bob@example.org', to: 'bob@example.org' }), journal('bob@example.org', ['D.Secret@Example.org']), context, 'smtp');
  t.deepEqual(listing(placements), ['bob Inbox received', 'bob Sent sent', 'dave Inbox received', 'journal Inbox received']);
});

test('the sender archive gets it under Sent; the envelope sender counts as a sender too', (t) => {
  const fromHeader = placeMessage(content({ from: 'Alice <Alice@Example.com>', to: 'stranger@elsewhere.example' }), journal(null, []), context, 'smtp');
  t.deepEqual(listing(fromHeader), ['alice Sent sent', 'journal Inbox received']);
  // A journal report's Sender (the envelope) credits the sender even when From says otherwise.
  const fromEnvelope = placeMessage(content({ from: 'someone@elsewhere.example', to: 'x@elsewhere.example' }), journal('A.Smith@example.com', []), context, 'smtp');
  t.deepEqual(listing(fromEnvelope), ['alice Sent sent', 'journal Inbox received']);
});

test('an archive that is both sender and recipient gets both listings', (t) => {
  const placements = placeMessage(content({ from: 'alice@example.com', to: 'a.smith@example.com' }), journal('alice@example.com', ['zoe@example.org']), context, 'smtp');
  t.deepEqual(listing(placements), ['alice Inbox received', 'alice Sent sent', 'journal Inbox received', 'zoe Inbox received']);
  for (const placement of placements) t.is(placement.origin, 'smtp');
  const sent = placements.find((p) => p.archive === 'alice' && p.direction === Directions.Sent);
  // Sent mail is dated when written (Date:), received mail when it arrived.
  t.is(sent?.internalDate, Date.parse('2024-01-01T10:00:00Z'));
});

test('addresses match whatever their case, in headers and envelope alike', (t) => {
  const placements = placeMessage(content({ from: 'ALICE@EXAMPLE.COM', to: 'Bob <BOB@Example.ORG>' }), journal('Alice@Example.Com', ['ZOE@EXAMPLE.ORG']), context, 'smtp');
  t.deepEqual(listing(placements), ['alice Sent sent', 'bob Inbox received', 'journal Inbox received', 'zoe Inbox received']);
});

test('a message to the journal archive itself is not listed twice', (t) => {
  const placements = placeMessage(content({ to: 'journal@archive.example.com' }), journal(null, ['journal@archive.example.com']), context, 'smtp');
  t.deepEqual(listing(placements), ['alice Sent sent', 'journal Inbox received']);
});

test('explicit routing lists exactly the given targets, direction from the archive own address', (t) => {
  const prepared = content({ from: 'alice@example.com', to: 'bob@example.org' });
  const placements = placeMessage(
    prepared,
    {
      kind: 'explicit',
      targets: [
        { archive: 'alice', folder: ['Archive', '2024'] },
        { archive: 'bob', folder: ['Imported'] },
        { archive: 'unknown', folder: ['X'] },
      ],
    },
    context,
    'import:/tmp/x.eml',
  );
  t.deepEqual(listing(placements), ['alice Archive/2024 sent', 'bob Imported received', 'unknown X received']);
  // No address-based extras: zoe/journal are not added for explicit routing.
  t.is(placements.length, 3);
});
