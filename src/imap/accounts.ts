// Who an IMAP login is and which archive is "theirs". A user's own archive is the archive named
// like the user (as MailStore names each user's archive); a user may log in by name or by that
// archive's primary address. Which archives a user may read is decided by search/access.ts alone.
import type { ArchiveConfig, Config, UserConfig } from '../config/index.js';
import { normalizeAddress } from '../config/index.js';
import { mayRead, readableArchives, type ArchiveScope } from '../search/access.js';

export function findUser(config: Config, name: string): UserConfig | undefined {
  const wanted = name.toLowerCase();
  return config.users.find((user) => user.name.toLowerCase() === wanted);
}

/** The user a login name stands for: a user name, or the primary address of a user's own archive. */
export function findLoginUser(config: Config, login: string): UserConfig | undefined {
  const byName = findUser(config, login);
  if (byName || !login.includes('@')) return byName;
  const address = normalizeAddress(login);
  const archive = config.archives.find((candidate) => candidate.address !== undefined && normalizeAddress(candidate.address) === address);
  return archive ? findUser(config, archive.name) : undefined;
}

/** The archive named like the user, when the user may read it. */
export function ownArchive(config: Config, user: UserConfig, scope: ArchiveScope = readableArchives(config, user.name)): ArchiveConfig | undefined {
  const name = user.name.toLowerCase();
  const archive = config.archives.find((candidate) => candidate.name.toLowerCase() === name);
  return archive && mayRead(scope, archive.name) ? archive : undefined;
}
