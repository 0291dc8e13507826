// EXPUNGE never reaches this (the read-only command table refuses it), but imap-core's CLOSE
// requires the hook to exist, or it answers NO and leaves the mailbox selected.
export function createOnExpunge() {
  return async (): Promise<true> => true;
}
