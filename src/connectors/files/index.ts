// The file-import readers behind `coffer import eml|mbox|maildir`. Each turns files on disk into a
// stream of raw messages (and failures) for the ingest pipeline, one message in memory at a time.

export type { FileSource, SourceFailure, SourceItem, SourceMessage } from './source.js';
export { createEmlSource, type EmlSourceOptions } from './eml.js';
export { createMboxSource, parsePostmarkDate, type MboxSourceOptions } from './mbox.js';
export { createMaildirSource } from './maildir.js';
export { decodeImapUtf7 } from './utf7.js';
