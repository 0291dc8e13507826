// Archiving profiles (`profiles[]`): which mailboxes Coffer pulls mail from, how it connects,
// which folders and messages it takes, what it deletes at the source afterwards and when it runs.
// Modelled on MailStore's profiles (manual ch. 2.3, 2.7-2.9); every default lives here.

import * as z from 'zod';
import { checkCron } from './cron.js';
import { archiveName, duration, parseAge, path, type Age } from './primitives.js';

const PROFILE_KINDS = ['mailbox', 'master', 'csv', 'multidrop'] as const;
const PROTOCOLS = ['imap', 'pop3'] as const;
const SECURITY = ['tls', 'starttls', 'none'] as const;

const PROFILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Default ports: implicit TLS has its own port; STARTTLS and plain share the protocol's. */
function defaultPort(protocol: (typeof PROTOCOLS)[number], security: (typeof SECURITY)[number]): number {
  if (protocol === 'imap') return security === 'tls' ? 993 : 143;
  return security === 'tls' ? 995 : 110;
}

/** A secret given inline, as a file to read (first line), or as an environment variable. */
const secret = z.union([
  z.string().min(1, { error: 'must not be empty' }),
  z.object({ file: path }).strict(),
  z.object({ env: z.string().regex(ENV_NAME, { error: 'must be an environment variable name' }) }).strict(),
], { error: 'expected a password, { file: <path> } or { env: <VARIABLE> }' });

const age = z.string().transform((value, ctx) => {
  const parsed = parseAge(value);
  if (parsed === null) {
    ctx.issues.push({ code: 'custom', message: `expected an age such as "30d", "2w", "6mo" or "1y", got "${value}"`, input: value });
    return z.NEVER;
  }
  return parsed;
});

/**
 * The manual's "only archive messages older than": a date ("2024-06-30" or "2024-06-30T18:00",
 * local time unless utc is set, the manual's UTC option) or a range measured back from each run.
 */
const olderThan = z
  .object({ date: z.string().optional(), utc: z.boolean().default(false), range: age.optional() })
  .strict()
  .transform((value, ctx): { date: number } | { range: Age } => {
    if ((value.date === undefined) === (value.range === undefined)) {
      ctx.issues.push({ code: 'custom', message: 'give either date or range', input: value });
      return z.NEVER;
    }
    if (value.range !== undefined) return { range: value.range };
    const ms = parseFilterDate(value.date!, value.utc);
    if (ms === null) {
      ctx.issues.push({ code: 'custom', message: `expected a date such as "2024-06-30" or "2024-06-30T18:00", got "${value.date}"`, path: ['date'], input: value.date });
      return z.NEVER;
    }
    return { date: ms };
  });

/** Milliseconds since the epoch, or null for anything but a real calendar date and time. */
function parseFilterDate(text: string, utc: boolean): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const date = utc ? new Date(Date.UTC(year, month - 1, day, hour, minute, second)) : new Date(year, month - 1, day, hour, minute, second);
  // Date rolls 2024-02-31 over to March; a date that does not read back as written was not real.
  const readBack = utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes()];
  return readBack.every((part, i) => part === [year, month, day, hour, minute][i]) && second < 60 ? date.getTime() : null;
}

/** A folder pattern: "Parent/Child" (with its subfolders), { path, subfolders }, or a regex "||…" / "|i|…". */
const folderPattern = z
  .union([z.string().min(1), z.object({ path: z.string().min(1), subfolders: z.boolean().default(true) }).strict()])
  .transform((value, ctx) => {
    const pattern = typeof value === 'string' ? { path: value, subfolders: true } : value;
    const problem = checkFolderRegex(pattern.path);
    if (problem !== null) {
      ctx.issues.push({ code: 'custom', message: problem, input: pattern.path });
      return z.NEVER;
    }
    return pattern;
  });

const quietHours = z
  .object({ from: z.string().regex(CLOCK, { error: 'expected a time such as "22:00"' }), to: z.string().regex(CLOCK, { error: 'expected a time such as "06:00"' }) })
  .strict()
  .refine((value) => value.from !== value.to, { error: '"from" and "to" must differ' });

const schedule = z.union(
  [
    z.object({ every: duration, quietHours: quietHours.optional() }).strict(),
    z
      .object({ cron: z.string(), timezone: z.string().optional() })
      .strict()
      .superRefine((value, ctx) => {
        const problem = checkCron(value.cron, value.timezone);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, path: ['cron'] });
      }),
  ],
  { error: 'expected { every: <duration>, quietHours?: { from, to } } or { cron: "<expression>", timezone?: <zone> }' },
);

const deleteRule = z.union(
  [
    z.literal('never'),
    z.literal('immediately'),
    z.object({ afterArchived: age }).strict(),
    z.object({ olderThan: age }).strict(),
  ],
  { error: 'expected never, immediately, { afterArchived: <age> } or { olderThan: <age> }' },
);

const server = z
  .object({
    protocol: z.enum(PROTOCOLS).default('imap'),
    host: z.string().min(1, { error: 'must not be empty' }),
    port: z.int().min(1).max(65535).optional(),
    security: z.enum(SECURITY).default('tls'),
    // The manual's "Ignore SSL warnings": for servers with self-signed or otherwise unverifiable certificates.
    ignoreCertificateErrors: z.boolean().default(false),
    timeout: duration.prefault('300s'),
  })
  .strict()
  .transform((value) => ({ ...value, port: value.port ?? defaultPort(value.protocol, value.security) }));

const folders = z
  .object({
    include: z.array(folderPattern).default([]),
    exclude: z.array(folderPattern).default([]),
    // Deleted Items/Trash, Drafts, Junk and Outbox; the manual's "Always exclude <folder names>".
    excludeDefaults: z.boolean().default(true),
    detectSent: z.boolean().default(true),
    sent: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .prefault({});

const filter = z
  .object({
    archiveUnread: z.boolean().default(true),
    olderThan: olderThan.optional(),
  })
  .strict()
  .prefault({});

const mailboxSelection = z.union([z.literal('all'), z.object({ only: z.array(archiveName).min(1) }).strict(), z.object({ except: z.array(archiveName).min(1) }).strict()], {
  error: 'expected all, { only: [archives] } or { except: [archives] }',
});

export const profile = z
  .object({
    name: z.string().regex(PROFILE_NAME, { error: 'profile names are 1-64 characters: letters, digits, ".", "_" and "-"' }),
    kind: z.enum(PROFILE_KINDS),
    server,
    // mailbox and multidrop: the mailbox's login; master: the privileged login.
    user: z.string().min(1).optional(),
    password: secret.optional(),
    // mailbox: the archive it is pulled into.
    archive: archiveName.optional(),
    // master: whose mailboxes, by archive (each archive's primary address is the mailbox name).
    mailboxes: mailboxSelection.default('all'),
    // csv: the mailbox list.
    csv: path.optional(),
    // multidrop: where mail for no known address goes (an archive), or "skip".
    unknownAddresses: z.union([z.literal('skip'), z.object({ archive: archiveName }).strict()]).default('skip'),
    folders,
    filter,
    delete: deleteRule.default('never'),
    schedule: schedule.optional(),
    // Mailboxes pulled at once by master and csv profiles (the manual's concurrent jobs, max 25).
    parallel: z.int().min(1).max(25).default(5),
  })
  .strict()
  .superRefine((value, ctx) => checkKindFields(value, ctx));

type ProfileInput = z.output<typeof profile>;

// Which keys each kind needs and allows, reported against the key an administrator must fix.
function checkKindFields(value: ProfileInput, ctx: z.RefinementCtx): void {
  const need = (key: keyof ProfileInput, why: string): void => {
    if (value[key] === undefined) ctx.addIssue({ code: 'custom', message: `required: ${why}`, path: [key] });
  };
  const forbid = (key: keyof ProfileInput, why: string): void => {
    if (value[key] !== undefined) ctx.addIssue({ code: 'custom', message: `not used by ${value.kind} profiles: ${why}`, path: [key] });
  };
  if (value.kind === 'csv') {
    need('csv', 'the CSV file listing the mailboxes');
    forbid('user', 'logins come from the CSV file');
    forbid('password', 'passwords come from the CSV file');
  } else {
    need('user', value.kind === 'master' ? 'the privileged login' : 'the mailbox login');
    need('password', 'the login password');
    forbid('csv', 'only csv profiles read a CSV file');
  }
  if (value.kind === 'mailbox') need('archive', 'the archive the mailbox is pulled into');
  else forbid('archive', value.kind === 'multidrop' ? 'mail is routed by its addresses' : 'each mailbox goes to its own archive');
  // POP3 has no read flags and no dates before a message is downloaded (the manual: filter is IMAP only).
  if (value.server.protocol === 'pop3' && (!value.filter.archiveUnread || value.filter.olderThan !== undefined)) {
    ctx.addIssue({ code: 'custom', message: 'filters need IMAP: POP3 has no read flags and no dates before download', path: ['filter'] });
  }
  if ((value.kind === 'master' || value.kind === 'csv') && value.server.protocol !== 'imap') {
    ctx.addIssue({ code: 'custom', message: `${value.kind} profiles pull IMAP mailboxes`, path: ['server', 'protocol'] });
  }
}

/** Folder patterns prefixed "||" (case-sensitive) or "|i|" (case-insensitive) are regular expressions. */
export function folderRegex(pattern: string): RegExp | null {
  if (pattern.startsWith('||')) return new RegExp(pattern.slice(2));
  if (pattern.startsWith('|i|')) return new RegExp(pattern.slice(3), 'i');
  return null;
}

function checkFolderRegex(pattern: string): string | null {
  try {
    folderRegex(pattern);
    return null;
  } catch (err) {
    return `invalid regular expression ${JSON.stringify(pattern)}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Unique profile names; archives a profile names must be configured. */
export function checkProfiles(profiles: unknown, checkArchive: (reference: unknown, path: (string | number)[]) => void, ctx: z.RefinementCtx): void {
  if (!Array.isArray(profiles)) return;
  const names = new Set<string>();
  profiles.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null) return;
    const entry = item as Record<string, unknown>;
    if (typeof entry.name === 'string') {
      const key = entry.name.toLowerCase();
      if (names.has(key)) ctx.addIssue({ code: 'custom', message: `duplicate profile name "${entry.name}"`, path: ['profiles', index, 'name'] });
      names.add(key);
    }
    checkArchive(entry.archive, ['profiles', index, 'archive']);
    const unknown = entry.unknownAddresses;
    if (typeof unknown === 'object' && unknown !== null) checkArchive((unknown as Record<string, unknown>).archive, ['profiles', index, 'unknownAddresses', 'archive']);
    const selection = entry.mailboxes;
    if (typeof selection === 'object' && selection !== null) {
      for (const [key, list] of Object.entries(selection)) {
        if (Array.isArray(list)) list.forEach((name: unknown, i) => checkArchive(name, ['profiles', index, 'mailboxes', key, i]));
      }
    }
  });
}
