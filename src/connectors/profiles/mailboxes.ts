// The mailboxes a profile pulls, each with its login and destination: one for mailbox and
// multidrop profiles; one per archive address for master-password profiles (manual 2.8, RFC 4616
// authorization identity); one per CSV row for csv profiles (read at each run, so edits apply).
import { readFile } from 'node:fs/promises';
import type { Config, ProfileConfig } from '../../config/index.js';
import { CofferError, ErrorCodes } from '../../errors.js';
import { parseMailboxCsv } from './csv.js';
import type { MailboxJob } from './job.js';

type Secret = NonNullable<ProfileConfig['password']>;

/** A password given inline, in a file (its first line) or in an environment variable. */
export async function resolveSecret(secret: Secret, env: NodeJS.ProcessEnv, profile: string): Promise<string> {
  if (typeof secret === 'string') return secret;
  if ('env' in secret) {
    const value = env[secret.env];
    if (value === undefined || value === '') throw new CofferError(ErrorCodes.InvalidArgument, `profile ${profile}: environment variable ${secret.env} (the password) is not set`);
    return value;
  }
  const text = await readProfileFile(secret.file, `profile ${profile}`, 'the password file');
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new CofferError(ErrorCodes.InvalidArgument, `profile ${profile}: the password file ${secret.file} is empty`);
  return password;
}

async function readProfileFile(path: string, who: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CofferError(ErrorCodes.SourceUnreadable, `${who}: cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

export async function mailboxJobs(profile: ProfileConfig, config: Config, env: NodeJS.ProcessEnv): Promise<MailboxJob[]> {
  switch (profile.kind) {
    case 'mailbox':
      return [{ label: profile.user!, login: { user: profile.user!, password: await resolveSecret(profile.password!, env, profile.name) }, destination: { kind: 'archive', archive: profile.archive! } }];
    case 'multidrop': {
      const unknownArchive = profile.unknownAddresses === 'skip' ? null : profile.unknownAddresses.archive;
      return [{ label: profile.user!, login: { user: profile.user!, password: await resolveSecret(profile.password!, env, profile.name) }, destination: { kind: 'multidrop', unknownArchive } }];
    }
    case 'master': {
      const password = await resolveSecret(profile.password!, env, profile.name);
      return selectedArchives(profile, config).map((archive) => ({
        label: archive.address,
        login: { user: profile.user!, password, authzid: archive.address },
        destination: { kind: 'archive', archive: archive.name },
      }));
    }
    case 'csv': {
      const text = await readProfileFile(profile.csv!, `profile ${profile.name}`, 'the CSV file');
      // The manual: an archive named like the IMAP user when the row names none; created if missing.
      return parseMailboxCsv(text, profile.csv!).map((row) => ({
        label: row.email ?? row.user,
        login: { user: row.user, password: row.password },
        destination: { kind: 'archive', archive: row.archive ?? row.user },
      }));
    }
  }
}

/** Master-password profiles: the configured archives with a primary address, narrowed by the selection. */
function selectedArchives(profile: ProfileConfig, config: Config): { name: string; address: string }[] {
  const selection = profile.mailboxes;
  const chosen = config.archives.filter((archive) => {
    if (selection === 'all') return true;
    if ('only' in selection) return selection.only.includes(archive.name);
    return !selection.except.includes(archive.name);
  });
  const withoutAddress = chosen.filter((archive) => archive.address === undefined).map((archive) => archive.name);
  if (selection !== 'all' && 'only' in selection && withoutAddress.length) {
    throw new CofferError(ErrorCodes.InvalidArgument, `profile ${profile.name}: archive ${withoutAddress.join(', ')} has no address, so it has no mailbox to open`);
  }
  return chosen.flatMap((archive) => (archive.address === undefined ? [] : [{ name: archive.name, address: archive.address }]));
}
