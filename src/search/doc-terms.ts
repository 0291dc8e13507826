// One message's terms, as the ingest worker hands them to the indexer: for each distinct term, the
// fields it occurs in and its positions. Encoded on the worker into one Buffer, so the main thread
// receives a single transferable value and copies position bytes into posting lists as they are.
//
//   varint termCount
//   per term: varint byteLength, UTF-8 term, varint fieldMask, varint positionCount,
//             positionCount varints: deltas of encoded positions (fields.ts), ascending
// The IMAP fields (imap-text.ts) only add to a term's mask: they have no positions.
import type { SearchText } from './extract.js';
import { encodePosition, FIELD_POSITIONS, fieldNumber, positionField } from './fields.js';
import { ByteWriter } from './bytes.js';
import type { TextField } from './query.js';
import { tokenize } from './tokenize.js';

/** The text fields' values in field-number order (fields.ts), so positions come out ascending. */
function fieldValues(text: SearchText): [TextField, readonly string[]][] {
  return [
    ['body', [text.body]],
    ['subject', [text.subject]],
    ['from', [text.from]],
    ['to', [text.to]],
    ['acontent', [text.attachmentContent]],
    ['cc', [text.cc]],
    ['bcc', [text.bcc]],
    ['attachment', text.attachmentNames],
    ['messageid', [text.messageId]],
  ];
}

export function encodeDocTerms(text: SearchText): Buffer {
  const terms = new Map<string, number[]>();
  for (const [field, values] of fieldValues(text)) {
    const number = fieldNumber(field);
    let position = 0;
    for (const value of values) {
      if (!value) continue;
      // A gap of one between values (attachment names) keeps a phrase from spanning two of them.
      position =
        tokenize(value, position, (term, at) => {
          if (at >= FIELD_POSITIONS) return;
          const encoded = encodePosition(number, at);
          const list = terms.get(term);
          if (list) list.push(encoded);
          else terms.set(term, [encoded]);
        }) + 1;
    }
  }
  const imap = text.imapTerms;
  // The terms first and their count in front afterwards: one look-up per IMAP term, not two.
  const body = new ByteWriter(4096);
  let count = terms.size;
  for (const [term, positions] of terms) {
    body.utf8(term);
    // Fields are tokenized in field-number order and positions ascend within one: already sorted.
    let mask = imap.get(term) ?? 0;
    for (const encoded of positions) mask |= 1 << positionField(encoded);
    body.varint(mask);
    body.varint(positions.length);
    let previous = 0;
    for (const encoded of positions) {
      body.varint(encoded - previous);
      previous = encoded;
    }
  }
  for (const [term, mask] of imap) {
    if (terms.has(term)) continue;
    body.utf8(term);
    body.varint(mask);
    body.varint(0);
    count++;
  }
  const out = new ByteWriter(body.length + 8);
  out.varint(count);
  out.append(body.view());
  return out.view();
}
