// Streaming mbox reader for `coffer import mbox`. Splits an mbox (mboxo or mboxrd, LF or CRLF) into
// raw messages while reading it in large chunks, so memory stays O(largest message) however many
// gigabytes the file holds. It removes the postmark line, the separating blank line and one level
// of `>From ` quoting, and otherwise keeps every byte of each message.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CofferError, ErrorCodes } from '../../errors.js';
import { notRegularFile, sourceFailure, type FileSource, type SourceItem, type SourceMessage } from './source.js';

/** Large reads: an mbox is read once front to back, and fewer, bigger chunks mean fewer syscalls. */
const CHUNK_SIZE = 1 << 20;

const LF = 0x0a;
const CR = 0x0d;
const GT = 0x3e;
const FROM_ = Buffer.from('From ', 'latin1');

export interface MboxSourceOptions {
  /** Read size in bytes; only tests change it, to put chunk boundaries everywhere. */
  chunkSize?: number;
}

export function createMboxSource(file: string, options: MboxSourceOptions = {}): FileSource {
  const chunkSize = options.chunkSize ?? CHUNK_SIZE;
  return {
    async totalBytes() {
      try {
        return (await stat(file)).size;
      } catch {
        return 0; // items() reports the reason as a failure
      }
    },
    items: () => readMbox(file, chunkSize),
  };
}

async function* readMbox(file: string, chunkSize: number): AsyncGenerator<SourceItem> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw notRegularFile(file);
    size = info.size;
  } catch (error) {
    yield sourceFailure(file, error);
    return;
  }
  // An empty file is a valid mbox with no messages (mail clients write one for an empty folder).
  if (size === 0) return;

  const splitter = new MboxSplitter(file, size);
  const stream = createReadStream(file, { highWaterMark: chunkSize });
  try {
    // Returning or breaking out of this loop destroys the stream, so a consumer that stops
    // early (or the not-an-mbox case) does not leave the file open.
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      splitter.push(chunk);
      yield* splitter.take();
      if (splitter.rejected) return;
    }
    splitter.end();
    yield* splitter.take();
  } catch (error) {
    yield splitter.readFailure(error);
  }
}

/**
 * Postmark date: asctime format after the sender (`From MAILER-DAEMON Fri Jul  8 12:08:34 2011`),
 * with the variants seen in the wild: optional seconds, a zone name or numeric offset before the
 * year, or an offset after it. Times without an offset are taken as UTC: the postmark carries no
 * zone, and a fixed rule keeps imports reproducible.
 */
const POSTMARK_DATE =
  /(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(?:([+-]\d{4})\s+|[A-Za-z]{1,5}\s+)?(\d{4})(?:\s+([+-]\d{4}))?/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The date of a `From sender date` postmark line, or undefined when it has none or an invalid one. */
export function parsePostmarkDate(line: string): Date | undefined {
  const m = POSTMARK_DATE.exec(line);
  if (m === null) return undefined;
  const month = MONTHS.indexOf(m[1] ?? '');
  const day = Number(m[2]);
  const hour = Number(m[3]);
  const minute = Number(m[4]);
  const second = Number(m[5] ?? '0');
  const year = Number(m[7]);
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const dayStart = new Date(Date.UTC(year, month, day));
  // Date.UTC rolls Feb 30 over into March; a postmark that does so is not a real date.
  if (dayStart.getUTCMonth() !== month || dayStart.getUTCDate() !== day || year < 1970) return undefined;
  const offset = m[6] ?? m[8];
  let offsetMinutes = 0;
  if (offset !== undefined) {
    const sign = offset.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(3, 5)));
  }
  return new Date(dayStart.getTime() + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000);
}

/** True when buf[start..end) begins with `From ` (a postmark line when it follows a blank line). */
function startsWithFrom(buf: Buffer, start: number, end: number): boolean {
  return end - start >= FROM_.length && buf.compare(FROM_, 0, FROM_.length, start, start + FROM_.length) === 0;
}

/** buf[start..end) is a whole line (terminator included) that is empty: `\n` or `\r\n`. */
function isBlankLine(buf: Buffer, start: number, end: number): boolean {
  const length = end - start;
  return (length === 1 && buf[start] === LF) || (length === 2 && buf[start] === CR && buf[start + 1] === LF);
}

/** Matches /^>+From / on buf[start..end). */
function isQuotedFrom(buf: Buffer, start: number, end: number): boolean {
  if (buf[start] !== GT) return false;
  let i = start + 1;
  while (i < end && buf[i] === GT) i++;
  return startsWithFrom(buf, i, end);
}

interface OpenMessage {
  ordinal: number;
  line: number;
  startOffset: number;
  receivedAt: Date | undefined;
  parts: Buffer[];
}

/**
 * The splitting state machine, fed chunk by chunk. Ordinary lines are not copied one by one: they
 * extend a run inside the current chunk, and only runs, blank lines and quoted lines become parts
 * of the message. Each finished message is one fresh Buffer, so it never pins a 1 MB chunk.
 */
class MboxSplitter {
  rejected = false;
  private readonly out: SourceItem[] = [];
  /** File offset and 1-based number of the next line to be handled. */
  private offset = 0;
  private lineNo = 1;
  /** A line that continues into the next chunk, kept as parts so a huge line costs one copy. */
  private carry: Buffer[] = [];
  private current: OpenMessage | undefined;
  private ordinal = 0;
  /**
   * The latest blank line, not yet known to be content: if a postmark follows, it is the separator
   * that the mbox writer added (not part of the message); otherwise it is content.
   */
  private heldBlank: Buffer | undefined;

  constructor(
    private readonly file: string,
    private readonly size: number,
  ) {}

  push(chunk: Buffer): void {
    if (this.rejected) return;
    let pos = 0;
    if (this.carry.length > 0) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        this.carry.push(chunk);
        return;
      }
      this.carry.push(chunk.subarray(0, nl + 1));
      const line = Buffer.concat(this.carry);
      this.carry = [];
      this.handleLine(line, 0, line.length);
      pos = nl + 1;
    }
    let runStart = pos;
    while (pos < chunk.length && !this.rejected) {
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        this.flushRun(chunk, runStart, pos);
        this.carry.push(chunk.subarray(pos));
        return;
      }
      const end = nl + 1;
      // Fast path: inside a message, after a non-blank line, only a blank or a quoted line needs
      // attention; a `From ` line here is content because no blank line precedes it.
      if (
        this.current !== undefined &&
        this.heldBlank === undefined &&
        !isBlankLine(chunk, pos, end) &&
        !isQuotedFrom(chunk, pos, end)
      ) {
        this.offset += end - pos;
        this.lineNo++;
        pos = end;
        continue;
      }
      this.flushRun(chunk, runStart, pos);
      this.handleLine(chunk, pos, end);
      pos = end;
      runStart = end;
    }
    this.flushRun(chunk, runStart, pos);
  }

  /** End of file: a last line without terminator, then the last message. */
  end(): void {
    if (this.carry.length > 0) {
      const line = Buffer.concat(this.carry);
      this.carry = [];
      this.handleLine(line, 0, line.length);
    }
    // A blank line at the very end is the separator the writer appends after every message,
    // the last one included, so it is dropped like the ones before each postmark.
    this.heldBlank = undefined;
    if (this.current !== undefined) this.finish(this.offset);
  }

  take(): SourceItem[] {
    return this.out.splice(0, this.out.length);
  }

  /** A read error part-way: the message being read is lost, and so is the rest of the file. */
  readFailure(error: unknown): SourceItem {
    const from = this.current?.startOffset ?? this.offset;
    const origin = this.current === undefined ? this.file : this.originOf(this.current);
    return sourceFailure(origin, error, Math.max(0, this.size - from));
  }

  private flushRun(chunk: Buffer, start: number, end: number): void {
    if (end > start && this.current !== undefined) this.current.parts.push(chunk.subarray(start, end));
  }

  private handleLine(buf: Buffer, start: number, end: number): void {
    const lineStart = this.offset;
    const lineNo = this.lineNo;
    this.offset += end - start;
    this.lineNo++;
    const current = this.current;
    if (current === undefined) {
      if (lineNo === 1 && startsWithFrom(buf, start, end)) {
        this.begin(buf, start, end, lineStart, lineNo);
        return;
      }
      // The whole file is accounted for by this one item: nothing more will be read from it.
      this.rejected = true;
      this.out.push({
        kind: 'failure',
        origin: `${this.file} (line 1)`,
        error: new CofferError(ErrorCodes.SourceUnreadable, 'not an mbox file: first line is not a From_ separator'),
        bytes: this.size,
      });
      return;
    }
    if (isBlankLine(buf, start, end)) {
      if (this.heldBlank !== undefined) current.parts.push(this.heldBlank);
      this.heldBlank = buf.subarray(start, end);
      return;
    }
    if (this.heldBlank !== undefined) {
      if (startsWithFrom(buf, start, end)) {
        this.heldBlank = undefined; // the separator: counted in bytes, not part of the message
        this.finish(lineStart);
        this.begin(buf, start, end, lineStart, lineNo);
        return;
      }
      current.parts.push(this.heldBlank);
      this.heldBlank = undefined;
    }
    // mboxrd quoting: the writer turned every /^>*From / line into one with one more `>`, so that
    // body lines are not taken for postmarks; removing one `>` restores the original exactly.
    // In mboxo only `From ` was quoted, so this also turns an original `>From ` into `From `; the
    // two formats cannot be told apart from the file, and a quoted `From ` is by far the common
    // case, so unquoting recovers more original bytes than it alters.
    const quoted = isQuotedFrom(buf, start, end);
    current.parts.push(buf.subarray(quoted ? start + 1 : start, end));
  }

  private begin(buf: Buffer, start: number, end: number, lineStart: number, lineNo: number): void {
    this.ordinal++;
    this.current = {
      ordinal: this.ordinal,
      line: lineNo,
      startOffset: lineStart,
      receivedAt: parsePostmarkDate(buf.toString('latin1', start, end)),
      parts: [],
    };
  }

  /** Closes the current message; its bytes run from its postmark to endOffset (separator included). */
  private finish(endOffset: number): void {
    const current = this.current;
    if (current === undefined) return;
    this.current = undefined;
    const message: SourceMessage = {
      kind: 'message',
      raw: Buffer.concat(current.parts), // always a copy: the message must not pin read chunks
      folder: [],
      origin: this.originOf(current),
      bytes: endOffset - current.startOffset,
    };
    if (current.receivedAt !== undefined) message.receivedAt = current.receivedAt;
    this.out.push(message);
  }

  private originOf(message: OpenMessage): string {
    return `${this.file}#${message.ordinal} (line ${message.line})`;
  }
}
