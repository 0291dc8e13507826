// The configuration schema: every key, its validation and its default. This file (with
// profile-schema.ts for archiving profiles) is THE one place defaults live; load.ts only reads YAML, maps problems to file positions and resolves paths.
// Cross-references (grants → archives, endpoints → archives, unique names and addresses) are
// checked here too, so every problem carries a key path that load.ts can point at.

import { resolve } from 'node:path';
import * as z from 'zod';
import { archiveName, cidr, duration, email, hostPort, HOSTNAME, normalizeAddress, path, size } from './primitives.js';
import { checkProfiles, profile } from './profile-schema.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const USER_ROLES = ['user', 'admin', 'auditor'] as const;
export const ARCHIVE_PERMISSIONS = ['read', 'read,delete'] as const;

/** Prefix of the password hashes printed by `coffer hash-password`. */
export const PASSWORD_HASH_PREFIX = 'scrypt$';

const archive = z
  .object({
    name: archiveName,
    address: email.optional(),
    aliases: z.array(email).default([]),
  })
  .strict();

const user = z
  .object({
    name: z.string().min(1, { error: 'must not be empty' }),
    passwordHash: z.string().startsWith(PASSWORD_HASH_PREFIX, {
      error: `must be a "${PASSWORD_HASH_PREFIX}..." hash as printed by \`coffer hash-password\``,
    }),
    role: z.enum(USER_ROLES).default('user'),
    archives: z.record(z.string(), z.enum(ARCHIVE_PERMISSIONS)).default({}),
  })
  .strict();

// --- smtp ---------------------------------------------------------------------------------------


// scrypt$N$r$p$saltB64$hashB64, as written by src/smtp/password.ts hashPassword(). Checked in
// full here so that a pasted-but-truncated hash stops startup instead of failing every login.
const SCRYPT_HASH = /^scrypt\$\d{1,10}\$\d{1,3}\$\d{1,3}\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;

const smtpUser = z
  .object({
    name: z.string().min(1, { error: 'must not be empty' }),
    passwordHash: z.string().regex(SCRYPT_HASH, {
      error: 'must be a "scrypt$N$r$p$salt$hash" hash as printed by `coffer hash-password`',
    }),
  })
  .strict();

const endpoint = z
  .object({
    address: email,
    archive: z.string(),
    allowFrom: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
    requireTLS: z.boolean().default(false),
    auth: z
      .object({ users: z.array(smtpUser).min(1, { error: 'list at least one user, or leave auth out' }) })
      .strict()
      .optional(),
    acceptAnyRecipient: z.boolean().default(false),
    maxMessageSize: size.prefault('25MB'),
    maxRecipients: z.int().min(1).max(100_000).default(1000),
  })
  .strict();

// A file with both missing reads better as "give both" than as two type errors.
const tlsFile = z.string({
  error: (issue) => (issue.input === undefined ? 'tls needs both cert and key' : undefined),
}).min(1, { error: 'must not be empty' });

function notImplemented(what: string) {
  return z.array(z.unknown()).superRefine((entries, ctx) => {
    if (entries.length > 0) ctx.addIssue({ code: 'custom', message: `${what} are not implemented yet`, path: [0] });
  });
}

export interface ConfigSchemaOptions {
  /** Environment consulted for defaults ($COFFER_DATA). */
  env: NodeJS.ProcessEnv;
  /** Directory a relative $COFFER_DATA is resolved against. */
  cwd: string;
}

/**
 * Builds the schema. It is a factory because one default depends on the environment and
 * reading env at import time is forbidden (convention 1). $COFFER_DATA is resolved against cwd
 * here: it comes from the shell, unlike paths in the file, which load.ts resolves against the
 * file's directory.
 */
export function createConfigSchema(options: ConfigSchemaOptions) {
  const dataEnv = options.env.COFFER_DATA;
  const defaultDataDir = dataEnv !== undefined && dataEnv !== '' ? resolve(options.cwd, dataEnv) : './data';

  return z
    .object({
      dataDir: path.default(defaultDataDir),
      encryption: z.object({ keyFile: path }).strict().optional(),
      tls: z.object({ cert: tlsFile, key: tlsFile }).strict().optional(),
      log: z
        .object({ level: z.enum(LOG_LEVELS).default('info') })
        .strict()
        .prefault({}),
      folders: z
        .object({
          received: z.string().min(1, { error: 'must not be empty' }).default('Inbox'),
          sent: z.string().min(1, { error: 'must not be empty' }).default('Sent'),
        })
        .strict()
        .prefault({}),
      archives: z.array(archive).default([]),
      users: z.array(user).default([]),
      compliance: z
        .object({ adminArchiveAccess: z.boolean().default(false) })
        .strict()
        .prefault({}),
      smtp: z
        .object({
          listen: z.array(hostPort).min(1, { error: 'list at least one address' }).default(['127.0.0.1:2525']),
          // Banner and EHLO name; absent means the machine's host name, looked up at startup.
          hostname: z.string().regex(HOSTNAME, { error: 'must be a host name such as "archive.example.com"' }).optional(),
          maxConnections: z.int().min(1).max(100_000).default(100),
          socketTimeout: duration.prefault('60s'),
          closeTimeout: duration.prefault('30s'),
          endpoints: z.array(endpoint).default([]),
        })
        .strict()
        .prefault({}),
      imap: z
        .object({
          starttls: hostPort.nullable().default('127.0.0.1:1143'),
          tls: hostPort.nullable().default('127.0.0.1:1993'),
          // An audit line per message a client downloads; off for sites where that volume is unwanted.
          auditRetrievals: z.boolean().default(true),
          // RFC 3501 5.4: at least 30 minutes; clients re-issue IDLE every 29 minutes.
          idleTimeout: duration.prefault('30m'),
        })
        .strict()
        .prefault({}),
      profiles: z.array(profile).default([]),
      retention: notImplemented('retention policies').default([]),
    })
    .strict()
    // Run even when other keys have errors, so one pass reports every problem. The value may then
    // be partly invalid, which is why checkReferences narrows from unknown.
    .superRefine((value, ctx) => checkReferences(value, ctx), { when: () => true });
}

export type ConfigSchema = ReturnType<typeof createConfigSchema>;

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The loaded configuration: validated, defaults applied, paths absolute, deeply frozen. */
export type Config = DeepReadonly<
  z.output<ConfigSchema> & {
    /** Absolute path of the file it came from; null for the embedded default. */
    configFile: string | null;
  }
>;
export type ArchiveConfig = Config['archives'][number];
export type UserConfig = Config['users'][number];
export type SmtpConfig = Config['smtp'];
export type EndpointConfig = Config['smtp']['endpoints'][number];
export type ImapConfig = Config['imap'];
export type ProfileConfig = Config['profiles'][number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type UserRole = (typeof USER_ROLES)[number];
export type ArchivePermission = (typeof ARCHIVE_PERMISSIONS)[number];

// --- cross-reference checks -------------------------------------------------------------------

type Ctx = z.RefinementCtx;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: unknown): [number, Record<string, unknown>][] {
  if (!Array.isArray(value)) return [];
  const out: [number, Record<string, unknown>][] = [];
  value.forEach((item: unknown, index) => {
    if (isRecord(item)) out.push([index, item]);
  });
  return out;
}

function checkReferences(value: unknown, ctx: Ctx): void {
  if (!isRecord(value)) return;

  // Archive names: unique ignoring case, because they become IMAP mailbox names and clients
  // (and case-insensitive file systems) cannot tell "Alice" from "alice".
  const archiveNames = new Map<string, string>(); // lower-case → name as written
  const addressOwner = new Map<string, string>(); // lower-case address → owner description
  const archives = entries(value.archives);
  for (const [index, item] of archives) {
    const name = item.name;
    if (typeof name !== 'string') continue;
    const key = name.toLowerCase();
    if (archiveNames.has(key)) {
      ctx.addIssue({ code: 'custom', message: `duplicate archive name "${name}"`, path: ['archives', index, 'name'] });
    } else {
      archiveNames.set(key, name);
    }
  }

  // An address routes mail to exactly one archive; two owners would make routing ambiguous.
  const claim = (address: unknown, owner: string, path: (string | number)[]): void => {
    if (typeof address !== 'string') return;
    const key = normalizeAddress(address);
    const previous = addressOwner.get(key);
    if (previous !== undefined) {
      ctx.addIssue({ code: 'custom', message: `address "${address}" is already used by ${previous}`, path });
    } else {
      addressOwner.set(key, owner);
    }
  };
  for (const [index, item] of archives) {
    const owner = typeof item.name === 'string' ? `archive "${item.name}"` : `archives[${index}]`;
    claim(item.address, owner, ['archives', index, 'address']);
    if (Array.isArray(item.aliases)) {
      item.aliases.forEach((alias: unknown, aliasIndex) => {
        claim(alias, owner, ['archives', index, 'aliases', aliasIndex]);
      });
    }
  }

  checkProfiles(value.profiles, (reference, path) => checkArchiveReference(reference, archiveNames, ctx, path), ctx);

  const smtp = isRecord(value.smtp) ? value.smtp : {};
  for (const [index, item] of entries(smtp.endpoints)) {
    // A journal endpoint address that is also an archive address could not be told apart on intake.
    claim(item.address, `smtp.endpoints[${index}]`, ['smtp', 'endpoints', index, 'address']);
    checkArchiveReference(item.archive, archiveNames, ctx, ['smtp', 'endpoints', index, 'archive']);
  }
  checkEndpoints(smtp.endpoints, ctx);

  // User names are login names; IMAP clients and people type them in any case.
  const userNames = new Set<string>();
  for (const [index, item] of entries(value.users)) {
    if (typeof item.name === 'string') {
      const key = item.name.toLowerCase();
      if (userNames.has(key)) {
        ctx.addIssue({ code: 'custom', message: `duplicate user name "${item.name}"`, path: ['users', index, 'name'] });
      }
      userNames.add(key);
    }
    if (isRecord(item.archives)) {
      for (const grant of Object.keys(item.archives)) {
        checkArchiveReference(grant, archiveNames, ctx, ['users', index, 'archives', grant]);
      }
    }
  }
}

function checkEndpoints(endpoints: unknown, ctx: Ctx): void {
  // Any-recipient means "every RCPT not claimed by another endpoint is mine"; two such endpoints
  // would leave that mail with no owner.
  let catchAll: number | undefined;
  for (const [index, item] of entries(endpoints)) {
    if (item.acceptAnyRecipient === true) {
      if (catchAll === undefined) catchAll = index;
      else {
        ctx.addIssue({
          code: 'custom',
          message: `only one endpoint may accept any recipient (smtp.endpoints[${catchAll}] already does)`,
          path: ['smtp', 'endpoints', index, 'acceptAnyRecipient'],
        });
      }
    }
    const users = isRecord(item.auth) ? item.auth.users : undefined;
    const names = new Set<string>();
    for (const [userIndex, user] of entries(users)) {
      if (typeof user.name !== 'string') continue;
      if (names.has(user.name)) {
        ctx.addIssue({ code: 'custom', message: `duplicate user name "${user.name}"`, path: ['smtp', 'endpoints', index, 'auth', 'users', userIndex, 'name'] });
      }
      names.add(user.name);
    }
  }
}

// References must match the archive name exactly: other modules look grants up by name, and a
// case-only mismatch silently granting nothing would be worse than an error at startup.
function checkArchiveReference(
  reference: unknown,
  archiveNames: ReadonlyMap<string, string>,
  ctx: Ctx,
  path: (string | number)[],
): void {
  if (typeof reference !== 'string') return;
  const configured = archiveNames.get(reference.toLowerCase());
  if (configured === reference) return;
  const hint = configured === undefined ? '' : ` (did you mean "${configured}"?)`;
  ctx.addIssue({ code: 'custom', message: `archive "${reference}" is not configured${hint}`, path });
}
