// What an IMAP server lists of one folder (UID, \Seen, \Flagged, INTERNALDATE, size), packed into
// typed arrays: a pull keeps it for the whole folder, and as objects with a Date each it cost ~250
// bytes a message (25 MB for a 100,000-message folder, heap snapshot); packed it costs 21.

export interface ServerMessage {
  uid: number;
  seen: boolean;
  flagged: boolean;
  /** INTERNALDATE; an invalid Date when the server gave none. */
  date: Date;
  size: number;
}

const SEEN = 1;
const FLAGGED = 2;

export class ServerListing implements Iterable<ServerMessage> {
  private uids = new Uint32Array(0);
  private dates = new Float64Array(0);
  private sizes = new Float64Array(0);
  private flags = new Uint8Array(0);
  private count = 0;
  /** UIDs arrive ascending from `UID FETCH 1:*` in practice; lookups sort them first if not. */
  private ascending = true;

  get size(): number {
    return this.count;
  }

  add(message: ServerMessage): void {
    if (this.count === this.uids.length) this.grow();
    const at = this.count++;
    if (at > 0 && message.uid <= this.uids[at - 1]!) this.ascending = false;
    this.uids[at] = message.uid;
    this.dates[at] = message.date.getTime();
    this.sizes[at] = message.size;
    this.flags[at] = (message.seen ? SEEN : 0) | (message.flagged ? FLAGGED : 0);
  }

  has(uid: number): boolean {
    return this.indexOf(uid) !== -1;
  }

  get(uid: number): ServerMessage | undefined {
    const at = this.indexOf(uid);
    return at === -1 ? undefined : this.at(at);
  }

  /** In UID order. */
  *[Symbol.iterator](): Generator<ServerMessage> {
    this.sort();
    for (let at = 0; at < this.count; at++) yield this.at(at);
  }

  private at(index: number): ServerMessage {
    const flags = this.flags[index]!;
    return { uid: this.uids[index]!, seen: (flags & SEEN) !== 0, flagged: (flags & FLAGGED) !== 0, date: new Date(this.dates[index]!), size: this.sizes[index]! };
  }

  private indexOf(uid: number): number {
    this.sort();
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = this.uids[middle]!;
      if (found === uid) return middle;
      if (found < uid) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  private sort(): void {
    if (this.ascending) return;
    const order = Array.from({ length: this.count }, (_, i) => i).sort((a, b) => this.uids[a]! - this.uids[b]!);
    // A UID listed twice (a server's bug) is kept once.
    const kept = order.filter((index, i) => i === 0 || this.uids[index] !== this.uids[order[i - 1]!]);
    this.uids = Uint32Array.from(kept, (i) => this.uids[i]!);
    this.dates = Float64Array.from(kept, (i) => this.dates[i]!);
    this.sizes = Float64Array.from(kept, (i) => this.sizes[i]!);
    this.flags = Uint8Array.from(kept, (i) => this.flags[i]!);
    this.count = kept.length;
    this.ascending = true;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.uids.length * 2);
    const grown = <T extends Uint32Array | Float64Array | Uint8Array>(old: T, fresh: T): T => {
      fresh.set(old);
      return fresh;
    };
    this.uids = grown(this.uids, new Uint32Array(capacity));
    this.dates = grown(this.dates, new Float64Array(capacity));
    this.sizes = grown(this.sizes, new Float64Array(capacity));
    this.flags = grown(this.flags, new Uint8Array(capacity));
  }
}
