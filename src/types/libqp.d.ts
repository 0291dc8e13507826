// Hand-written types for the part of libqp Coffer uses (the package ships none).
declare module 'libqp' {
  /** Decodes quoted-printable text (one character per byte) to bytes; soft line breaks removed. */
  export function decode(value: string): Buffer;
  const libqp: { decode: typeof decode };
  export default libqp;
}
