// Hand-written types for the part of libmime Coffer uses (the package ships none).
declare module 'libmime' {
  /** Decodes RFC 2047 encoded-words; throws on unknown charsets. */
  export function decodeWords(value: string): string;
  const libmime: { decodeWords: typeof decodeWords };
  export default libmime;
}
