// imap-core's MIME indexer (parse-mime-tree.js, body-structure.js) takes time quadratic in some
// counts of lines, characters or parameters, and an archive parses whatever it is sent: in the
// ingest worker for every message, on the IMAP main thread for body sections and SEARCH. Measured
// before this module (bench/README.md, "Hostile MIME"): a To header folded over 40,000 lines took
// 6 s; a run of 40,000 CRs or of 40,000 spaces in a header 0.6-0.8 s (a 1 MB run: minutes);
// 40,000 parameters in a Content-Type 6.8 s. Four methods are replaced here by equivalents that
// give exactly the same results in linear time:
// - readLine matched a regular expression against the rest of the message. For a run of CRs not
//   followed by LF it scanned the whole run again for each CR.
// - processNodeHeader joined folded lines from the last one backwards: each join spliced the line
//   array and flattened an ever longer string. Repeated headers were unshifted one at a time,
//   address lists concatenated into a new array per header, and /\s*\r?\n\s*/ rescanned a run
//   of whitespace from each of its characters.
// - parseValueParams trimmed quotes and whitespace with /['"\s]*$/, which does the same.
// - BodyStructure's flatten concatenated a new array for each parameter.
// The rest is left as it is. test/unit/vendor/linear-indexer.test.ts compares trees and
// BODYSTRUCTUREs with fresh copies of the originals on generated and fuzzed messages.

/** The parser state the replaced methods work on (the fields of imap-core's MIMEParser they touch). */
interface ParserState {
  rfc822: string;
  parseValueParams(headerValue: unknown): ValueParams;
  _pos: number;
  _br: string | false;
  _node: { header: string[]; parsedHeader: Record<string, unknown> };
  /** Where the next CR and LF are at or after _pos; -1 when there is none. Added here. */
  nextCr?: number;
  nextLf?: number;
  /** End of the run of CRs that contains _pos, when that run is not followed by LF. Added here. */
  bareCrRunEnd?: number;
}

/** What is replaced: imap-core's MIMEParser and BodyStructure classes, by prototype. */
export interface IndexerClasses {
  MIMEParser: {
    prototype: {
      readLine(this: ParserState): string | false;
      processNodeHeader(this: ParserState): void;
      parseValueParams(headerValue: unknown): ValueParams;
    };
  };
  BodyStructure: { prototype: { flatten(arr: unknown): unknown[] } };
}

/** A Content-Type or Content-Disposition value as the original's parseValueParams returns it. */
interface ValueParams {
  value: string;
  type: string;
  subtype: string;
  params: Record<string, string>;
  hasParams?: true;
}

type AddressParser = (value: string) => unknown[] | undefined;

const CR = 0x0d;
const LF = 0x0a;
const LINEAR = Symbol('coffer.linear');

/**
 * Replaces the quadratic methods, once. `addressparser`: the one imap-core's parser calls (from
 * where imap-core resolves it).
 */
export function makeIndexerLinear(classes: IndexerClasses, addressparser: AddressParser): void {
  const parser = classes.MIMEParser.prototype as IndexerClasses['MIMEParser']['prototype'] & { [LINEAR]?: true };
  if (parser[LINEAR]) return;
  parser.readLine = readLine;
  parser.processNodeHeader = function (this: ParserState) {
    processNodeHeader(this, addressparser);
  };
  parser.parseValueParams = parseValueParams;
  classes.BodyStructure.prototype.flatten = flatten;
  parser[LINEAR] = true;
}

/**
 * The original's `rest.match(/(.*?)(\r*\n|\r(?!\n)|\r*$)/)`: the line runs to the first CR or LF;
 * the break is every CR of a run that ends in LF, else one CR, else (end of input) none.
 */
function readLine(this: ParserState): string | false {
  const text = this.rfc822;
  const start = this._pos;
  if (this.bareCrRunEnd !== undefined && start < this.bareCrRunEnd) {
    this._br = '\r';
    this._pos = start + 1;
    return '';
  }
  if (this.nextCr === undefined || (this.nextCr !== -1 && this.nextCr < start)) this.nextCr = text.indexOf('\r', start);
  if (this.nextLf === undefined || (this.nextLf !== -1 && this.nextLf < start)) this.nextLf = text.indexOf('\n', start);
  const { nextCr, nextLf } = this;
  if (nextCr === -1 && nextLf === -1) {
    this._br = false;
    this._pos = text.length;
    return text.slice(start);
  }
  const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
  const line = text.slice(start, end);
  if (text.charCodeAt(end) === LF) {
    this._br = '\n';
    this._pos = end + 1;
    return line;
  }
  let runEnd = end;
  while (text.charCodeAt(runEnd) === CR) runEnd++;
  if (text.charCodeAt(runEnd) === LF) {
    this._br = text.slice(end, runEnd + 1);
    this._pos = runEnd + 1;
  } else {
    // Each CR of this run is a line break of its own: the next calls take them without a scan.
    this.bareCrRunEnd = runEnd;
    this._br = '\r';
    this._pos = end + 1;
  }
  return line;
}

/** Fields that keep one value (the last) when a header repeats. */
const SINGLE_VALUED = ['in-reply-to', 'message-id', 'content-transfer-encoding', 'content-id', 'content-description', 'content-language', 'content-md5', 'content-location'];
const ADDRESS_FIELDS = ['from', 'sender', 'reply-to', 'to', 'cc', 'bcc'];
const FOLDED = /^\s/;
const BAD_KEY = /[^a-zA-Z0-9\-*]/;

/**
 * The original's result, built forwards: header[] becomes one entry per field (folded lines
 * joined with CRLF; a first line that starts with whitespace is a field of its own); fields are
 * read from the last to the first, a repeated one collecting its values in message order with only
 * the last unfolded; then single-valued fields keep their last value and address fields are parsed.
 */
function processNodeHeader(state: ParserState, addressparser: AddressParser): void {
  const node = state._node;
  const fields: string[] = [];
  let folded: string[] = [];
  node.header.forEach((line, i) => {
    if (i > 0 && FOLDED.test(line)) {
      folded.push(line);
      return;
    }
    if (folded.length) fields.push(folded.join('\r\n'));
    folded = [line];
  });
  if (folded.length) fields.push(folded.join('\r\n'));
  node.header = fields;

  const parsed = node.parsedHeader;
  // Arrays of repeated fields, built last value first (the original unshifted into them).
  const backwards: unknown[][] = [];
  for (let i = fields.length - 1; i >= 0; i--) {
    const parts = fields[i]!.split(':');
    const key = (parts.shift() || '').trim().toLowerCase();
    if (BAD_KEY.test(key) || key.length >= 100) continue;
    const value = Buffer.from(parts.join(':').trim(), 'binary').toString();
    // `in`, as the original: a name Object.prototype has ("constructor") starts as a pair.
    if (key in parsed) {
      const current = parsed[key];
      if (Array.isArray(current)) current.push(value);
      else {
        const values = [current, value];
        backwards.push(values);
        parsed[key] = values;
      }
    } else {
      parsed[key] = unfold(value);
    }
  }
  for (const values of backwards) values.reverse();

  if (!parsed['content-type']) parsed['content-type'] = 'text/plain';
  for (const key of ['content-type', 'content-disposition']) {
    if (parsed[key]) {
      const value = parsed[key];
      const last = Array.isArray(value) ? value[value.length - 1] : value;
      parsed[key] = state.parseValueParams(last);
    }
  }
  for (const key of SINGLE_VALUED) {
    const value = parsed[key];
    if (Array.isArray(value)) parsed[key] = value.pop();
  }
  for (const key of ADDRESS_FIELDS) {
    if (!parsed[key]) continue;
    const addresses: unknown[] = [];
    for (const value of ([] as unknown[]).concat(parsed[key])) {
      if (!value) continue;
      for (const address of addressparser(value as string) || []) addresses.push(address);
    }
    parsed[key] = addresses;
  }
}

// The original's value.replace(/\s*\r?\n\s*/g, ' '): each run of whitespace that holds a line
// break becomes one space.
function unfold(value: string): string {
  return value.replace(/\s+/g, (run) => (run.includes('\n') ? ' ' : run));
}

const QUOTE_OR_SPACE = /['"\s]/;

// The original's value.replace(/^['"\s]*|['"\s]*$/g, '').
function trimQuotesAndSpaces(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && QUOTE_OR_SPACE.test(value[start]!)) start++;
  while (end > start && QUOTE_OR_SPACE.test(value[end - 1]!)) end--;
  return value.slice(start, end);
}

const PARAM_PIECE = /^([^*]+)\*(\d)?\*?$/;
const PARAM_PIECE_WITH_CHARSET = /^([^*]+)\*(\d)?\*$/;

/**
 * 'text/plain; charset=utf-8' → { value: 'text/plain', type: 'text', subtype: 'plain', params:
 * { charset: 'utf-8' } }; RFC 2231 pieces (name*0*=...) become one encoded word. The original,
 * step for step, but for the trim.
 */
function parseValueParams(headerValue: unknown): ValueParams {
  const data: ValueParams = { value: '', type: '', subtype: '', params: {} };
  const pieces: Record<string, string[]> = {};
  const charsetRequired = new WeakSet<string[]>();
  ((headerValue || '') as string)
    .split(';')
    .forEach((part, i) => {
      if (!i) {
        data.value = part.trim();
        const [type, ...subtype] = data.value.split('/');
        data.type = (type || '').toLowerCase();
        data.subtype = subtype.join('/');
        return;
      }
      const [name, ...rest] = part.split('=');
      const key = (name || '').trim().toLowerCase();
      const value = trimQuotesAndSpaces(rest.join('='));
      if (BAD_KEY.test(key) || key.length >= 100) return;
      const match = PARAM_PIECE.exec(key);
      if (match) {
        let list = pieces[match[1]!];
        if (!list) {
          list = pieces[match[1]!] = [];
          if (PARAM_PIECE_WITH_CHARSET.test(key)) charsetRequired.add(list);
        }
        list[Number(match[2]) || 0] = value;
      } else {
        data.params[key] = value;
      }
      data.hasParams = true;
    });
  for (const key of Object.keys(pieces)) {
    const list = pieces[key]!;
    let charset = '';
    let value = '';
    if (!charsetRequired.has(list)) {
      charset = 'utf-8';
      value = list.join('').replace(/%/g, '=');
    } else {
      list.forEach((piece, i) => {
        if (!i) {
          const parts = piece.split("'");
          charset = parts.shift()!;
          parts.shift(); // the language, ignored
          piece = parts.join("'");
        }
        value += piece.replace(/%/g, '=');
      });
    }
    data.params[key] = `=?${(charset || 'ISO-8859-1').toUpperCase()}?Q?${value}?=`;
  }
  return data;
}

/** [1, [2, [3]], 4] → [1, 2, 3, 4]; holes skipped, a non-array → [it]. */
function flatten(value: unknown): unknown[] {
  const flat: unknown[] = [];
  const walk = (item: unknown): void => {
    if (Array.isArray(item)) item.forEach(walk);
    else flat.push(item);
  };
  walk(value);
  return flat;
}
