// Who may search what (DESIGN.md "Compliance"): a user reads the archives granted to them; an
// admin too, and every other archive only when compliance.adminArchiveAccess allows it; an
// auditor reads all. The local administrator at the command line (no --user) reads all: whoever
// can run `coffer` against the data directory can read the store's files anyway.
import type { Config } from '../config/index.js';
import { CofferError, ErrorCodes } from '../errors.js';

export type ArchiveScope = { all: true } | { all: false; archives: ReadonlySet<string> };

export function readableArchives(config: Config, userName: string | undefined): ArchiveScope {
  if (userName === undefined) return { all: true };
  const user = config.users.find((candidate) => candidate.name.toLowerCase() === userName.toLowerCase());
  if (!user) throw new CofferError(ErrorCodes.NotFound, `no user named "${userName}" in the configuration`);
  if (user.role === 'auditor') return { all: true };
  if (user.role === 'admin' && config.compliance.adminArchiveAccess) return { all: true };
  const archives = Object.entries(user.archives)
    .filter(([, permission]) => permission.split(',').includes('read'))
    .map(([archive]) => archive);
  return { all: false, archives: new Set(archives) };
}

export function mayRead(scope: ArchiveScope, archive: string): boolean {
  return scope.all || scope.archives.has(archive);
}
