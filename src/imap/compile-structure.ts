// ENVELOPE and BODYSTRUCTURE to their wire form, byte for byte as imap-core's compiler writes them,
// in one pass. imap-core's compiler looks at the last character of the response it is building
// before every value, which makes V8 flatten the growing string each time: for a 6,000-message
// metadata FETCH that was the largest single cost. The result goes back into the response as one
// TEXT node inside a one-element list, `[{ type: 'TEXT', value }]`, which imap-core writes as
// "(" + value + ")": so imap-core still writes everything around it.
import { compileValue } from '../vendor/imap-core.js';

/** The items of a list, separated as imap-core separates them (no outer parentheses). */
export function listItems(list: readonly unknown[]): string {
  // imap-core writes no space between the leading list items of a list that starts with a list,
  // "((a)(b) c)", until the first item that is not a list (imap-compiler.js, subArray).
  let adjacentLists = list.length > 1 && Array.isArray(list[0]);
  let out = '';
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (adjacentLists && !Array.isArray(item)) adjacentLists = false;
    if (i > 0 && !adjacentLists) out += ' ';
    out += compileItem(item);
  }
  return out;
}

function compileItem(item: unknown): string {
  if (Array.isArray(item)) return `(${listItems(item)})`;
  if (Buffer.isBuffer(item)) return JSON.stringify(item.toString('binary'));
  if (typeof item === 'string') return JSON.stringify(item);
  if (typeof item === 'number') return String(Math.round(item) || 0);
  if (item === null || item === undefined || item === false) return 'NIL';
  // Anything else (typed nodes, MongoDB binaries) is rare: imap-core's compiler writes it.
  return compileValue(item);
}
