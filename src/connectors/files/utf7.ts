// Decoder for IMAP modified UTF-7 (RFC 3501 section 5.1.3), the encoding Dovecot and Courier use
// for Maildir folder names on disk: `&` starts a base64 run of UTF-16BE code units with `,` in
// place of `/`, `-` ends it, and `&-` is a literal `&`.

const BASE64_RUN = /&([^-]*)-/g;
const MODIFIED_BASE64 = /^[A-Za-z0-9+,]+$/;

/**
 * Decodes a modified UTF-7 name. Lenient on purpose: a malformed run (bad characters, an odd
 * number of bytes, a missing `-`) is left as it stands on disk, because a folder with an odd name
 * must still be imported rather than abort the whole import.
 */
export function decodeImapUtf7(name: string): string {
  return name.replace(BASE64_RUN, (run: string, encoded: string) => {
    if (encoded === '') return '&';
    // Length 1 (mod 4) cannot come from whole bytes: not base64 at all.
    if (!MODIFIED_BASE64.test(encoded) || encoded.length % 4 === 1) return run;
    const bytes = Buffer.from(encoded.replaceAll(',', '/'), 'base64');
    if (bytes.length % 2 !== 0) return run;
    // Node has no UTF-16BE decoder: swap each pair into little-endian order first.
    return bytes.swap16().toString('utf16le');
  });
}
