// Turns raw message bytes into everything the store keeps about them: the SHA-256 that addresses
// the content, the IMAP ENVELOPE/BODYSTRUCTURE, and the metadata the archive shows and filters on.
// It never throws on bad input: whatever it cannot understand becomes a problem on the record,
// and the bytes are archived regardless.
import { createHash } from 'node:crypto';
import libmime from 'libmime';
import type { AttachmentInfo, MessageMeta } from '../store/records.js';
import { buildBodyStructure, buildEnvelope, type MimeNode } from '../vendor/imap-core.js';
import { countOccurrences, parseWithinLimits } from './parse-limits.js';
import { headerEnd, headerProblems } from './header-block.js';

/** Addresses as the router needs them: lowercased mailbox addresses. */
export interface MessageAddresses {
  from: string[];
  to: string[];
  cc: string[];
  bcc: string[];
  /** Delivered-To / X-Original-To, used by multidrop routing. */
  deliveredTo: string[];
}

export interface MessageAnalysis {
  sha: Buffer;
  meta: MessageMeta;
  addresses: MessageAddresses;
  /**
   * The parsed MIME tree, for the search index's text extraction; the header block alone when the
   * structure was not taken apart (`wholeTree` false); null when not even that parsed.
   */
  tree: MimeNode | null;
  wholeTree: boolean;
}

const EMPTY_ADDRESSES: MessageAddresses = { from: [], to: [], cc: [], bcc: [], deliveredTo: [] };

export function analyzeMessage(raw: Buffer): MessageAnalysis {
  const sha = createHash('sha256').update(raw).digest();
  if (raw.length === 0) {
    return { sha, addresses: EMPTY_ADDRESSES, meta: emptyMeta(0, ['empty message']), tree: null, wholeTree: false };
  }
  const bodyStart = headerEnd(raw);
  const problems = headerProblems(raw, bodyStart);
  const tree = parseWithinLimits(raw);
  if (typeof tree === 'string') return analyzeHeaderOnly(raw, sha, bodyStart, [...problems, `MIME structure not analysed: ${tree}`]);
  problems.push(...mimeProblems(tree));
  const attachments: AttachmentInfo[] = [];
  collectAttachments(tree, attachments, true);
  const meta = metaOf(raw.length, tree, problems, attachments, buildBodyStructure(tree));
  return { sha, meta, addresses: addressesOf(tree.parsedHeader), tree, wholeTree: true };
}

/** What the top-level header gives (priority, envelope, dates), with what the caller derived. */
function metaOf(size: number, tree: MimeNode, problems: string[], attachments: AttachmentInfo[], bodystructure: unknown[]): MessageMeta {
  const header = tree.parsedHeader;
  const meta: MessageMeta = { size, priority: priorityOf(header), attachments, problems, envelope: buildEnvelope(tree), bodystructure };
  const date = parseDate(firstString(header.date));
  if (date !== undefined) meta.date = date;
  const receivedAt = receivedDate(header.received);
  if (receivedAt !== undefined) meta.receivedAt = receivedAt;
  return meta;
}

/**
 * A message whose structure is not taken apart (parse-limits.ts) is still archived whole, and
 * still found by its headers: envelope, addresses and dates come from the header block alone, and
 * the BODYSTRUCTURE shows one text part of the body's size.
 */
function analyzeHeaderOnly(raw: Buffer, sha: Buffer, bodyStart: number, problems: string[]): MessageAnalysis {
  const header = parseWithinLimits(raw.subarray(0, bodyStart));
  if (typeof header === 'string') {
    problems.push(`header not analysed: ${header}`);
    return { sha, addresses: EMPTY_ADDRESSES, meta: emptyMeta(raw.length, problems), tree: null, wholeTree: false };
  }
  const body = raw.subarray(bodyStart);
  const meta = metaOf(raw.length, header, problems, [], plainTextBody(body.length, countOccurrences(body, '\n')));
  return { sha, meta, addresses: addressesOf(header.parsedHeader), tree: header, wholeTree: false };
}

function plainTextBody(size: number, lines: number): unknown[] {
  return ['TEXT', 'PLAIN', null, null, null, '7BIT', size, lines, null, null, null, null];
}

function emptyMeta(size: number, problems: string[]): MessageMeta {
  return { size, priority: 3, attachments: [], problems, envelope: [null, Buffer.alloc(0), null, null, null, null, null, null, null, null], bodystructure: plainTextBody(size, 0) };
}

/** Multipart bodies whose boundary is missing or never appears. */
function mimeProblems(node: MimeNode, depth = 0): string[] {
  if (depth > 50) return ['MIME nesting deeper than 50 levels'];
  const problems: string[] = [];
  const type = ((node.parsedHeader['content-type'] as ParsedValue | undefined)?.value ?? '').toLowerCase();
  if (type.startsWith('multipart/')) {
    if (!node.boundary) problems.push(`${type} without a boundary`);
    else if (!node.childNodes?.length) problems.push(`${type} boundary never appears`);
  }
  for (const child of node.childNodes ?? []) problems.push(...mimeProblems(child, depth + 1));
  if (node.message) problems.push(...mimeProblems(node.message, depth + 1));
  return problems;
}

interface ParsedValue {
  value?: string;
  params?: Record<string, string>;
}

function collectAttachments(node: MimeNode, out: AttachmentInfo[], root: boolean): void {
  if (out.length >= 1000) return;
  const contentType = node.parsedHeader['content-type'] as ParsedValue | undefined;
  const disposition = node.parsedHeader['content-disposition'] as ParsedValue | undefined;
  const type = (contentType?.value ?? (root ? 'text/plain' : 'application/octet-stream')).toLowerCase();
  if (node.childNodes?.length) {
    for (const child of node.childNodes) collectAttachments(child, out, false);
    return;
  }
  const rawName = disposition?.params?.filename ?? contentType?.params?.name;
  const isText = type === 'text/plain' || type === 'text/html';
  const attached = disposition?.value?.toLowerCase() === 'attachment';
  // An inline text part without a file name is the message body, not an attachment.
  if (root || (!rawName && !attached && (isText || type.startsWith('multipart/')))) return;
  out.push({ name: rawName ? decodeFileName(rawName) : null, contentType: type, size: node.size ?? 0 });
}

function priorityOf(header: Record<string, unknown>): number {
  const xPriority = firstString(header['x-priority']);
  const digit = xPriority?.trim().match(/^[1-5]/);
  if (digit) return Number(digit[0]);
  const word = (firstString(header.importance) ?? firstString(header.priority) ?? firstString(header['x-msmail-priority']) ?? '')
    .trim()
    .toLowerCase();
  if (word === 'high' || word === 'urgent') return 1;
  if (word === 'low' || word === 'non-urgent') return 5;
  return 3;
}

function addressesOf(header: Record<string, unknown>): MessageAddresses {
  return {
    from: mailboxes(header.from),
    to: mailboxes(header.to),
    cc: mailboxes(header.cc),
    bcc: mailboxes(header.bcc),
    deliveredTo: [...strings(header['delivered-to']), ...strings(header['x-original-to'])]
      .map((value) => value.trim().replace(/^<|>$/g, '').toLowerCase())
      .filter((value) => value.includes('@')),
  };
}

interface ParsedMailbox {
  address?: string;
  group?: ParsedMailbox[];
}

function mailboxes(value: unknown): string[] {
  const result: string[] = [];
  const visit = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const item of list as ParsedMailbox[]) {
      if (item.group) visit(item.group);
      else if (item.address?.includes('@')) result.push(item.address.toLowerCase());
    }
  };
  visit(value);
  return result;
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

function firstString(value: unknown): string | undefined {
  return strings(value)[0];
}

function receivedDate(value: unknown): number | undefined {
  // imap-core keeps repeated headers in order; the first is the topmost, i.e. the last hop.
  const top = firstString(value);
  if (!top) return undefined;
  const semicolon = top.lastIndexOf(';');
  return semicolon === -1 ? undefined : parseDate(top.slice(semicolon + 1));
}

export function parseDate(value: string | undefined): number | undefined {
  if (!value) return undefined;
  // Drop RFC 5322 comments such as "(PST)" that Date.parse rejects.
  const time = Date.parse(value.replace(/\([^)]*\)/g, ' ').trim());
  return Number.isFinite(time) ? time : undefined;
}

/**
 * imap-core reads a one-piece RFC 2231 value (`filename*=utf-8''M%C3%A4rz.pdf`) as UTF-8 text that
 * includes the `charset'lang'` prefix, wrapped as `=?UTF-8?Q?utf-8''M=C3=A4rz.pdf?=`. Put the
 * declared charset back in its place (`_` is literal there, not a Q-encoded space), then decode.
 */
const MISREAD_RFC2231 = /^=\?UTF-8\?Q\?([A-Za-z0-9!#$&+^`{}~._-]+)'[A-Za-z0-9-]*'([^?]*)\?=$/;

/** An attachment's file name (Content-Disposition filename or Content-Type name) as text. */
export function decodeFileName(value: string): string {
  const match = MISREAD_RFC2231.exec(value);
  return decodeWords(match ? `=?${match[1] ?? ''}?Q?${(match[2] ?? '').replace(/_/g, '=5F')}?=` : value);
}

export function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value).trim();
  } catch {
    return value.trim();
  }
}
