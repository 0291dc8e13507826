// Archive and folder names given on the command line: validated the way the config validates
// them, and folder paths split on '/', the hierarchy separator IMAP clients will see.
import { CofferError, ErrorCodes } from '../errors.js';

const ARCHIVE_NAME = /^[\p{L}\p{N}._@-]{1,64}$/u;

export function checkArchiveName(name: string): string {
  if (!ARCHIVE_NAME.test(name) || name === '.' || name === '..') {
    throw new CofferError(ErrorCodes.InvalidArgument, `invalid archive name "${name}": 1-64 letters, digits, '.', '_', '-' or '@'`);
  }
  return name;
}

export function parseFolderPath(path: string): string[] {
  const segments = path.split('/').map((segment) => segment.trim());
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..' || segment.length > 200)) {
    throw new CofferError(ErrorCodes.InvalidArgument, `invalid folder path "${path}": segments separated by '/', none empty, '.' or '..'`);
  }
  return segments;
}

export function formatFolderPath(path: readonly string[]): string {
  return path.join('/');
}
