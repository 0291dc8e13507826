import test from 'ava';
import { ServerListing, type ServerMessage } from '../../../../src/connectors/imap/server-listing.js';

function message(uid: number, overrides: Partial<ServerMessage> = {}): ServerMessage {
  return { uid, seen: uid % 2 === 0, flagged: uid % 3 === 0, date: new Date(Date.UTC(2020, 0, 1) + uid * 60_000), size: uid * 100, ...overrides };
}

test('a listing gives back what was added, by UID and in UID order, past its first growth', (t) => {
  const listing = new ServerListing();
  const uids = Array.from({ length: 3000 }, (_, i) => 3 * i + 1);
  for (const uid of uids) listing.add(message(uid));
  t.is(listing.size, uids.length);
  t.deepEqual(listing.get(1501), message(1501));
  t.deepEqual(listing.get(8998), message(8998));
  t.true(listing.has(4));
  t.false(listing.has(5));
  t.is(listing.get(2), undefined);
  t.deepEqual([...listing].map((m) => m.uid), uids);
});

test('UIDs listed out of order are sorted; a UID listed twice is kept once', (t) => {
  const listing = new ServerListing();
  for (const uid of [40, 7, 19, 7, 3]) listing.add(message(uid));
  t.deepEqual([...listing].map((m) => m.uid), [3, 7, 19, 40]);
  t.is(listing.size, 4);
  t.deepEqual(listing.get(19), message(19));
  listing.add(message(2));
  t.deepEqual([...listing].map((m) => m.uid), [2, 3, 7, 19, 40]);
});

test('flags, a missing INTERNALDATE and sizes survive the packing', (t) => {
  const listing = new ServerListing();
  listing.add(message(1, { seen: true, flagged: true, size: 0 }));
  listing.add(message(2, { seen: false, flagged: false, date: new Date(Number.NaN), size: 2 ** 40 }));
  const [first, second] = [...listing];
  t.deepEqual([first!.seen, first!.flagged, first!.size], [true, true, 0]);
  t.deepEqual([second!.seen, second!.flagged, second!.size], [false, false, 2 ** 40]);
  t.true(Number.isNaN(second!.date.getTime()));
});
