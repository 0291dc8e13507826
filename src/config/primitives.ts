// Value types shared by the configuration schemas: addresses, host:port, CIDR blocks, archive
// names, sizes and durations with units. Each is a zod schema (or the check behind it) that
// reports a message an administrator can act on.

import { isIP, isIPv6 } from 'node:net';
import * as z from 'zod';

// Archive names end up in IMAP mailbox paths and store keys, so "/" (the IMAP hierarchy
// delimiter) and whitespace are out; "@" is allowed because names are often addresses.
export const ARCHIVE_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

// Deliberately simple: local@domain, no whitespace, no second "@", a dotted domain of letters,
// digits and hyphens (Unicode letters allowed for IDNs). Full RFC 5322 syntax (quoted local
// parts, domain literals) is not worth accepting for archive and journal addresses.
export const EMAIL =
  /^[^\s@"<>()[\],;:\\]{1,64}@(?=.{1,253}$)[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?)*$/u;

export const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** Lower-cased form used to compare addresses and names; mail routing ignores case. */
export function normalizeAddress(address: string): string {
  return address.toLowerCase();
}

/** Validates `host:port` or `[v6]:port`; returns an error message or null. */
export function checkHostPort(value: string): string | null {
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value);
  const plain = /^([^:[\]]+):(\d{1,5})$/.exec(value);
  const host = bracketed?.[1] ?? plain?.[1];
  const port = bracketed?.[2] ?? plain?.[2];
  if (host === undefined || port === undefined) {
    return `expected "host:port" or "[ipv6]:port", got "${value}"`;
  }
  if (bracketed !== null && !isIPv6(host)) return `"${host}" is not an IPv6 address`;
  if (plain !== null && !HOSTNAME.test(host)) return `"${host}" is not a valid host name or IPv4 address`;
  const portNumber = Number(port);
  if (portNumber < 1 || portNumber > 65535) return `port ${port} is out of range 1-65535`;
  return null;
}

/** Validates an IPv4 or IPv6 CIDR block such as `10.0.0.0/8`; returns an error message or null. */
export function checkCidr(value: string): string | null {
  const slash = value.lastIndexOf('/');
  if (slash < 0) return `expected a CIDR block such as "10.0.0.0/8" or "::1/128", got "${value}"`;
  const address = value.slice(0, slash);
  const prefix = value.slice(slash + 1);
  const family = isIP(address);
  if (family === 0) return `"${address}" is not an IP address`;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    return `prefix length "${prefix}" must be 0-${max} for an IPv${family} address`;
  }
  return null;
}

export const hostPort = z.string().check((ctx) => {
  const problem = checkHostPort(ctx.value);
  if (problem !== null) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

export const cidr = z.string().check((ctx) => {
  const problem = checkCidr(ctx.value);
  if (problem !== null) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

export const email = z.string().regex(EMAIL, { error: (issue) => `invalid email address ${JSON.stringify(issue.input)}` });

export const path = z.string().min(1, { error: 'must not be empty' });

export const archiveName = z
  .string()
  .regex(ARCHIVE_NAME, {
    error: 'archive names are 1-64 characters: letters, digits, ".", "_", "-" and "@"',
  })
  // "." and ".." would be traversal-looking names wherever the name becomes a path segment.
  .refine((name) => name !== '.' && name !== '..', { error: 'archive name must not be "." or ".."' });

const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a size such as "25MB" into bytes (binary multiples: 1KB = 1024 bytes, as Postfix and
 * most mail servers count). Returns null for anything else: a bare number is refused on purpose,
 * so that "25" cannot silently mean 25 bytes.
 */
export function parseSize(value: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/i.exec(value.trim());
  if (match === null) return null;
  const bytes = Math.floor(Number(match[1]) * (SIZE_UNITS[match[2]!.toUpperCase()] ?? Number.NaN));
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** Parses a duration such as "30s", "500ms", "5m" or "1h" into milliseconds; null when invalid. */
export function parseDuration(value: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim());
  if (match === null) return null;
  const ms = Math.floor(Number(match[1]) * (DURATION_UNITS[match[2]!] ?? Number.NaN));
  return Number.isSafeInteger(ms) ? ms : null;
}

/** A size with a unit ("25MB") in the file, a positive number of bytes in the loaded config. */
export const size = z.string({ error: (issue) => (typeof issue.input === 'number' ? 'sizes need a unit, such as "25MB" or "512KB"' : undefined) }).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === null || bytes <= 0) {
    ctx.issues.push({ code: 'custom', message: `expected a size such as "25MB", "512KB" or "1GB", got "${value}"`, input: value });
    return z.NEVER;
  }
  return bytes;
});

/** A duration with a unit ("30s") in the file, a positive number of milliseconds in the loaded config. */
export const duration = z.string({ error: (issue) => (typeof issue.input === 'number' ? 'durations need a unit, such as "30s" or "500ms"' : undefined) }).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null || ms <= 0) {
    ctx.issues.push({ code: 'custom', message: `expected a duration such as "30s", "500ms", "5m" or "1h", got "${value}"`, input: value });
    return z.NEVER;
  }
  return ms;
});

/** A calendar age such as 30 days or 6 months: "30d", "2w", "6mo", "1y". */
export interface Age {
  days: number;
  months: number;
}

const AGE = /^(\d{1,5})\s*(d|w|mo|y)$/i;
const UNIT_AGE = {
  d: (n: number): Age => ({ days: n, months: 0 }),
  w: (n: number): Age => ({ days: n * 7, months: 0 }),
  mo: (n: number): Age => ({ days: 0, months: n }),
  y: (n: number): Age => ({ days: 0, months: n * 12 }),
} as const;

/**
 * Parses "30d", "2w", "6mo", "1y" (case-insensitive, 1 to 99999 units). "m" is refused: minutes or
 * months? Zero is refused too: "0d" is a mistake for a filter and means "immediately" for a deletion
 * rule, which should say so.
 */
export function parseAge(value: string): Age | null {
  const m = AGE.exec(value.trim());
  if (m === null) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  if (n === 0 || !(unit in UNIT_AGE)) return null;
  return UNIT_AGE[unit as keyof typeof UNIT_AGE](n);
}
