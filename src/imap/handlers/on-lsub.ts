// LSUB: every archive folder counts as subscribed (issue 5), so clients that show only
// subscribed folders show them all; the answer is LIST's.
import type { ImapContext } from '../context.js';
import { createOnList } from './on-list.js';

export function createOnLsub(context: ImapContext) {
  return createOnList(context);
}
