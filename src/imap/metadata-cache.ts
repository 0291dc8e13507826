// ENVELOPE and BODYSTRUCTURE as they go on the wire, kept for recently fetched messages. Clients
// re-read a folder's metadata often (every sync of a phone, every reopening of a folder); with
// this, a repeated metadata FETCH reads only the listings, not the messages' stored metadata, and
// compiles nothing. Keyed by content (SHA-256), so a message in many folders is kept once. The
// budget is in bytes of text held; the least recently used entries go first.

export interface CompiledMetadata {
  size: number;
  envelope: string;
  bodystructure: string;
}

export class MetadataCache {
  private readonly entries = new Map<string, CompiledMetadata>();
  private bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  /** `utf8`: whether the client enabled UTF8=ACCEPT, which changes how text is written. */
  get(sha: Buffer, utf8: boolean): CompiledMetadata | undefined {
    const key = keyOf(sha, utf8);
    const entry = this.entries.get(key);
    if (entry) {
      // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(sha: Buffer, utf8: boolean, entry: CompiledMetadata): void {
    const key = keyOf(sha, utf8);
    const previous = this.entries.get(key);
    if (previous) this.bytes -= sizeOf(previous);
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.bytes += sizeOf(entry);
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.entries.delete(oldest);
      this.bytes -= sizeOf(value);
    }
  }
}

function keyOf(sha: Buffer, utf8: boolean): string {
  return `${utf8 ? 'u' : 'a'}${sha.toString('latin1')}`;
}

function sizeOf(entry: CompiledMetadata): number {
  // The strings (one byte per character for the mostly-ASCII text) plus the key and the entry.
  return entry.envelope.length + entry.bodystructure.length + 128;
}
