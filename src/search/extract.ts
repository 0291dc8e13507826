// The searchable text of a message, per field, from imap-core's MIME tree: decoded header fields,
// the body (transfer encodings and charsets decoded, HTML turned into text), attachment names and
// the text of text-like attachments and attached messages. It runs at ingest on every message, so
// it is written for speed, and it never throws: whatever cannot be decoded is skipped.
import { isAscii, isUtf8 } from 'node:buffer';
import { Parser } from 'htmlparser2';
import iconv from 'iconv-lite';
import libqp from 'libqp';
import { decodeFileName, decodeWords } from '../mime/analyze.js';
import { parseMimeTree, type MimeNode } from '../vendor/imap-core.js';
import { collectImapTerms, type ImapTerms } from './imap-text.js';

export interface SearchText {
  subject: string;
  /** Display names and addresses, RFC 2047 encoded words decoded. */
  from: string;
  to: string;
  cc: string;
  bcc: string;
  messageId: string;
  /** text/plain parts; text/html as text; of a multipart/alternative the plain part, else the HTML one. */
  body: string;
  /** File names of attachments (decoded), the ones analyze.ts lists. */
  attachmentNames: string[];
  /** Text of text-like attachments (text/*, HTML as text) and of attached messages. */
  attachmentContent: string;
  /** The terms of what IMAP SEARCH looks at (imap-text.ts): undecoded, with their IMAP field bits. */
  imapTerms: ImapTerms;
}

/** Bound on each text field, so one huge message cannot take the memory of the ingest worker. */
export const MAX_TEXT_CHARS = 1_000_000;

/** Same limits as analyze.ts: nesting depth and parts visited (attached messages included). */
const MAX_DEPTH = 50;
const MAX_PARTS = 1000;
/**
 * How many encoded bytes of one part are decoded per character still wanted: generous for HTML,
 * whose markup is often 10x its text, while a 50 MB part is not decoded whole for a 1 M char field.
 */
const BYTES_PER_CHAR = 16;

/**
 * Never throws. `tree` is parseMimeTree(raw); the header block alone when the structure was not
 * taken apart (`wholeTree` false: the body is not searched); null if not even that parsed: then
 * `raw` is the body.
 */
export function extractSearchText(tree: MimeNode | null, raw: Buffer, wholeTree = true): SearchText {
  const result: SearchText = {
    subject: '',
    from: '',
    to: '',
    cc: '',
    bcc: '',
    messageId: '',
    body: '',
    attachmentNames: [],
    attachmentContent: '',
    imapTerms: collectImapTerms(tree, raw, wholeTree),
  };
  try {
    if (!tree || typeof tree !== 'object' || !tree.parsedHeader) {
      result.body = decodeText(raw.subarray(0, MAX_TEXT_CHARS), undefined).slice(0, MAX_TEXT_CHARS);
      return result;
    }
    const header = tree.parsedHeader;
    result.subject = bound(headerText(header.subject));
    result.from = bound(addressText(header.from));
    result.to = bound(addressText(header.to));
    result.cc = bound(addressText(header.cc));
    result.bcc = bound(addressText(header.bcc));
    result.messageId = bound(messageIdText(header['message-id']));
    const walker = new Walker(result.attachmentNames);
    walker.walk(tree, 0, 'body', true);
    result.body = walker.body.text();
    result.attachmentContent = walker.content.text();
  } catch {
    // Defensive: the decoders below are written not to throw, but a surprising tree must not stop
    // ingest. Whatever was filled in so far stays.
  }
  return result;
}

/** Text pieces up to MAX_TEXT_CHARS in all, joined by line breaks. */
class TextSink {
  private readonly pieces: string[] = [];
  private length = 0;

  get remaining(): number {
    return MAX_TEXT_CHARS - this.length;
  }

  add(text: string): void {
    if (text === '' || this.length >= MAX_TEXT_CHARS) return;
    const piece = text.length > this.remaining ? text.slice(0, this.remaining) : text;
    this.pieces.push(piece);
    this.length += piece.length + 1;
  }

  text(): string {
    const joined = this.pieces.join('\n');
    return joined.length > MAX_TEXT_CHARS ? joined.slice(0, MAX_TEXT_CHARS) : joined;
  }
}

/** `body`: text parts are the body. `alternative`: a multipart/alternative branch not chosen. */
type Mode = 'body' | 'alternative';

interface ParsedValue {
  value?: unknown;
  params?: Record<string, unknown>;
}

class Walker {
  readonly body = new TextSink();
  readonly content = new TextSink();
  private parts = 0;

  constructor(private readonly names: string[]) {}

  walk(node: MimeNode, depth: number, mode: Mode, root: boolean): void {
    if (depth > MAX_DEPTH || ++this.parts > MAX_PARTS) return;
    const header = node.parsedHeader ?? {};
    const contentType = header['content-type'] as ParsedValue | string | undefined;
    const type = typeOf(contentType, root);
    const children = node.childNodes;
    if (children?.length) {
      if (type === 'multipart/alternative' && mode === 'body') {
        const chosen = preferredAlternative(children);
        for (const child of children) this.walk(child, depth + 1, child === chosen ? 'body' : 'alternative', false);
      } else {
        for (const child of children) this.walk(child, depth + 1, mode, false);
      }
      return;
    }
    const disposition = header['content-disposition'] as ParsedValue | undefined;
    const rawName = stringOf(disposition?.params?.filename) ?? stringOf(paramsOf(contentType).name);
    const isText = type === 'text/plain' || type === 'text/html';
    const attached = stringOf(disposition?.value)?.toLowerCase() === 'attachment';
    // Exactly analyze.ts collectAttachments: an inline text part without a file name is body text.
    const attachment = !root && (!!rawName || attached || !(isText || type.startsWith('multipart/')));
    const name = rawName ? decodeFileName(rawName) : '';
    if (attachment && name && this.names.length < MAX_PARTS) this.names.push(name);
    if (attachment) {
      // A non-chosen alternative is the body once more in another form; its files still count.
      if (mode === 'body') this.attachmentText(node, type, name, depth, this.content);
      return;
    }
    if (mode !== 'body') return;
    if (root && type === 'message/rfc822') {
      // A message that is nothing but another message: that message is the body.
      this.attachedMessage(node, depth, this.body);
      return;
    }
    this.inlineText(node, type, contentType, this.body);
  }

  /** A body part: text/plain or other text/*, HTML as text; a multipart whose boundary never came as plain text. */
  private inlineText(node: MimeNode, type: string, contentType: ParsedValue | string | undefined, sink: TextSink): void {
    if (type === 'text/html' || type === 'application/xhtml+xml') {
      sink.add(htmlToText(partText(node, contentType, sink.remaining)));
    } else if (type.startsWith('text/') || type.startsWith('multipart/')) {
      sink.add(partText(node, contentType, sink.remaining));
    }
  }

  private attachmentText(node: MimeNode, type: string, name: string, depth: number, sink: TextSink): void {
    if (sink.remaining <= 0) return;
    if (type === 'message/rfc822' || type === 'message/global' || (type === 'application/octet-stream' && /\.eml$/i.test(name))) {
      this.attachedMessage(node, depth, sink);
      return;
    }
    const kind = textKind(type, name);
    if (kind === 'html') sink.add(htmlToText(partText(node, node.parsedHeader['content-type'] as ParsedValue | undefined, sink.remaining)));
    else if (kind === 'text') sink.add(partText(node, node.parsedHeader['content-type'] as ParsedValue | undefined, sink.remaining));
  }

  /** An attached message: its header fields, body, attachment names and text, all into `sink`. */
  private attachedMessage(node: MimeNode, depth: number, sink: TextSink): void {
    let inner: MimeNode | undefined = node.message || undefined;
    if (!inner && node.body) {
      // imap-core parses the attached message itself only when it is not transfer-encoded.
      try {
        const parsed: MimeNode | false = parseMimeTree(transferDecode(node, sink.remaining * BYTES_PER_CHAR));
        inner = parsed || undefined;
      } catch {
        inner = undefined;
      }
    }
    if (!inner?.parsedHeader || depth + 1 > MAX_DEPTH) return;
    const header = inner.parsedHeader;
    sink.add(headerText(header.subject));
    sink.add(addressText(header.from));
    sink.add(addressText(header.to));
    sink.add(addressText(header.cc));
    const nested = new Walker([]);
    nested.parts = this.parts;
    nested.walk(inner, depth + 1, 'body', true);
    this.parts = nested.parts;
    sink.add(nested.body.text());
    if (nested.names.length > 0) sink.add(nested.names.join('\n'));
    sink.add(nested.content.text());
  }
}

function typeOf(contentType: ParsedValue | string | undefined, root: boolean): string {
  const value = typeof contentType === 'string' ? contentType : stringOf(contentType?.value);
  const type = value?.trim().toLowerCase();
  // analyze.ts's defaults; imap-core itself fills in text/plain when the header is missing.
  return type || (root ? 'text/plain' : 'application/octet-stream');
}

function paramsOf(contentType: ParsedValue | string | undefined): Record<string, unknown> {
  return (typeof contentType === 'object' && contentType?.params) || {};
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Of a multipart/alternative's children: the first plain text, else the last HTML (or multipart holding HTML), else the last. */
function preferredAlternative(children: MimeNode[]): MimeNode | undefined {
  let html: MimeNode | undefined;
  for (const child of children) {
    const type = typeOf(child.parsedHeader?.['content-type'] as ParsedValue | string | undefined, false);
    if (type === 'text/plain' && !isAttachmentLeaf(child)) return child;
    if (type === 'text/html' || (type.startsWith('multipart/') && holdsHtml(child, 0))) html = child;
  }
  return html ?? children[children.length - 1];
}

function isAttachmentLeaf(node: MimeNode): boolean {
  const disposition = node.parsedHeader?.['content-disposition'] as ParsedValue | undefined;
  return stringOf(disposition?.value)?.toLowerCase() === 'attachment' || !!stringOf(disposition?.params?.filename);
}

function holdsHtml(node: MimeNode, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  return (node.childNodes ?? []).some((child) => {
    const type = typeOf(child.parsedHeader?.['content-type'] as ParsedValue | string | undefined, false);
    return type === 'text/html' || (type.startsWith('multipart/') && holdsHtml(child, depth + 1));
  });
}

/** File types whose content is indexed when attached. CSS and scripts are text but not prose. */
const NOT_PROSE = new Set(['text/css', 'text/javascript', 'text/ecmascript', 'text/rtf', 'text/x-rtf']);
const TEXT_EXTENSIONS = /\.(?:txt|text|csv|tsv|log|md|ics|vcf|xml|json)$/i;
const HTML_EXTENSIONS = /\.x?html?$/i;

function textKind(type: string, name: string): 'text' | 'html' | undefined {
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'html';
  if (type.startsWith('text/')) return NOT_PROSE.has(type) ? undefined : 'text';
  // Mailers often send any file as application/octet-stream: trust a telling extension then.
  if (type === 'application/octet-stream' || type === 'application/x-download' || type === 'application/unknown') {
    if (HTML_EXTENSIONS.test(name)) return 'html';
    if (TEXT_EXTENSIONS.test(name)) return 'text';
  }
  // Bounce and receipt reports: recipients and diagnostics people search for.
  if (type === 'message/delivery-status' || type === 'message/disposition-notification') return 'text';
  if (type === 'application/csv' || type === 'application/json' || type === 'application/xml') return 'text';
  return undefined;
}

/** A leaf part's text: transfer encoding and charset decoded, at most about `chars` characters. */
function partText(node: MimeNode, contentType: ParsedValue | string | undefined, chars: number): string {
  if (!node.body || chars <= 0) return '';
  const bytes = transferDecode(node, chars * BYTES_PER_CHAR);
  return decodeText(bytes, stringOf(paramsOf(contentType).charset));
}

/** The part body with its Content-Transfer-Encoding undone, from at most `limit` encoded bytes. */
function transferDecode(node: MimeNode, limit: number): Buffer {
  const body = node.body;
  if (!body) return Buffer.alloc(0);
  const encoded = body.length > limit ? body.subarray(0, limit) : body;
  const encoding = stringOf(node.parsedHeader?.['content-transfer-encoding'])?.trim().toLowerCase();
  // Buffer's base64 decoder skips line breaks and stray characters instead of failing.
  if (encoding === 'base64') return Buffer.from(encoded.toString('latin1'), 'base64');
  if (encoding === 'quoted-printable') return libqp.decode(encoded.toString('latin1'));
  return encoded;
}

/**
 * The iconv-lite name for a MIME charset label, or null when there is no such charset. Labels are
 * repaired as libmime does (win-1252, cp-1250, iso8859_2, latin-2), and ISO-8859-1 / Latin-1 read
 * as windows-1252, as browsers do: mail labelled so is nearly always written in windows-1252.
 */
function charsetName(label: string): string | null {
  const candidates = [
    label,
    label.replace(/^win(?:dows)?[-_]?(\d+)$/, 'windows-$1').replace(/^cp[-_]?(12\d\d)$/, 'windows-$1'),
    label.replace(/^(?:latin|iso[-_]?8859)[-_]?(\d+)$/, 'iso-8859-$1'),
  ];
  const found = candidates.find((candidate) => iconv.encodingExists(candidate));
  if (found === undefined) return null;
  return /^(?:iso-8859-1|latin-?1|l1|iso8859-1)$/.test(found) ? 'windows-1252' : found;
}

/**
 * Bytes in a MIME charset to text. Without a usable charset (none, us-ascii, unknown names), UTF-8
 * when the bytes are valid UTF-8, else windows-1252 (what "ISO-8859-1" and 8-bit "US-ASCII" mail
 * really is). ISO-8859-1 itself also decodes as windows-1252, as browsers do.
 */
function decodeText(bytes: Buffer, charsetParam: string | undefined): string {
  if (bytes.length === 0) return '';
  if (isAscii(bytes)) return bytes.toString('latin1');
  const charset = charsetParam?.trim().toLowerCase() ?? '';
  if (charset === 'utf-8' || charset === 'utf8') return bytes.toString('utf8');
  const name = charset === '' || charset === 'us-ascii' ? null : charsetName(charset);
  if (name) return iconv.decode(bytes, name);
  return isUtf8(bytes) ? bytes.toString('utf8') : iconv.decode(bytes, 'windows-1252');
}

function headerText(value: unknown): string {
  if (typeof value === 'string') return decodeWords(value);
  if (Array.isArray(value)) return value.map((item) => headerText(item)).filter((text) => text !== '').join('\n');
  return '';
}

interface ParsedAddress {
  name?: unknown;
  address?: unknown;
  group?: unknown;
}

/** `Name address` for each mailbox, group names and members included, one a line. */
function addressText(value: unknown): string {
  if (!Array.isArray(value)) return typeof value === 'string' ? decodeWords(value) : '';
  const lines: string[] = [];
  const visit = (list: unknown[], depth: number): void => {
    for (const item of list) {
      if (lines.length >= MAX_PARTS || typeof item !== 'object' || item === null) continue;
      const { name, address, group } = item as ParsedAddress;
      const text = [typeof name === 'string' ? decodeWords(name) : '', typeof address === 'string' ? address.trim() : '']
        .filter((part) => part !== '')
        .join(' ');
      if (text !== '') lines.push(text);
      if (Array.isArray(group) && depth < 2) visit(group, depth + 1);
    }
  };
  visit(value, 0);
  return lines.join('\n');
}

function messageIdText(value: unknown): string {
  const id = Array.isArray(value) ? value[0] : value;
  return typeof id === 'string' ? id.trim().replace(/^<|>$/g, '').trim() : '';
}

function bound(text: string): string {
  return text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text;
}

// HTML to text ------------------------------------------------------------------------------------

/**
 * Inline formatting: rendered without a break, so `V<b>i</b>agra` reads `Viagra`. Every other tag
 * becomes a space, which the tokenizer treats like any other separator.
 */
const INLINE_TAGS = new Set([
  'a', 'abbr', 'b', 'bdi', 'bdo', 'big', 'cite', 'code', 'data', 'dfn', 'em', 'font', 'i', 'ins', 'del', 'kbd', 'mark', 'q', 's',
  'samp', 'small', 'span', 'strike', 'strong', 'sub', 'sup', 'time', 'tt', 'u', 'var', 'wbr', 'o:p',
]);
/**
 * Elements whose content no reader sees. Not `head` itself: what it may hold besides these is
 * text-free (meta, link), and mail often opens a <head> it never closes, or puts it after <body>.
 */
const HIDDEN_TAGS = new Set(['script', 'style', 'title', 'template', 'noscript', 'xml']);

/**
 * The text a reader of an HTML part sees, roughly: comments and the contents of script, style and
 * title dropped, tags replaced by spaces (inline formatting by nothing), entities decoded.
 * htmlparser2's tokenizer without a DOM; measured at about 110 MB/s on the corpus's HTML parts.
 * Exported for tests.
 */
export function htmlToText(html: string): string {
  let out = '';
  let hidden = 0;
  const parser = new Parser(
    {
      onopentagname(name) {
        if (INLINE_TAGS.has(name)) return;
        if (HIDDEN_TAGS.has(name)) hidden++;
        out += ' ';
      },
      onclosetag(name) {
        if (INLINE_TAGS.has(name)) return;
        if (HIDDEN_TAGS.has(name) && hidden > 0) hidden--;
        out += ' ';
      },
      ontext(text) {
        if (hidden === 0) out += text;
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.end(html);
  return out;
}
