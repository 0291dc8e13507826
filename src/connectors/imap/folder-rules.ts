// Which folders of an IMAP mailbox a profile archives, and which of them hold sent mail (MailStore
// manual 2.3 "Archiving Specific Folders"): every folder but the default exclusions, narrowed by an
// include list, minus an exclude list; names are "/"-joined whatever the server's delimiter. Pure,
// so `coffer profile folders` can show the same answer the connector acts on, with a reason per folder.

import { folderRegex } from '../../config/index.js';

export interface SourceFolder {
  path: string[];
  /** RFC 6154 attribute as the server sent it, e.g. '\\Sent', '\\Trash', '\\All'. Not a guess from the name. */
  specialUse?: string;
  noSelect?: boolean;
}

/**
 * path: "Parent/Child" with "/" between segments whatever the server's delimiter, case-sensitive
 * except INBOX; or a regular expression "||expr" (case-sensitive) or "|i|expr" (case-insensitive),
 * matched unanchored against the "/"-joined path (as .NET Regex.IsMatch does; JavaScript syntax).
 */
export interface FolderPattern {
  path: string;
  subfolders: boolean;
}

export interface FolderRules {
  include: FolderPattern[];
  exclude: FolderPattern[];
  excludeDefaults: boolean;
  detectSent: boolean;
  /** "/"-joined paths, exact, case-sensitive (except INBOX). */
  sentFolders: string[];
}

export interface EffectiveFolder {
  path: string[];
  archived: boolean;
  sent: boolean;
  /** Short human reason for `archived`. */
  reason: string;
}

interface Kind {
  /** Lower-cased special-use attribute, or null when there is none (Outbox). */
  use: string | null;
  /** Lower-cased last-segment names used when the server does not mark this kind. */
  names: readonly string[];
}

const DEFAULT_EXCLUSIONS: readonly Kind[] = [
  { use: '\\trash', names: ['trash', 'deleted items', 'deleted messages'] },
  { use: '\\drafts', names: ['drafts'] },
  { use: '\\junk', names: ['junk', 'junk e-mail', 'junk email', 'spam', 'bulk mail'] },
  { use: null, names: ['outbox'] },
];
const SENT: Kind = { use: '\\sent', names: ['sent', 'sent items', 'sent messages', 'sent mail'] };
/** Views that show mail stored in other folders: archiving them would only duplicate it. */
const VIRTUAL = ['\\all', '\\flagged'];

/** "/"-joined path with INBOX upper-cased: RFC 3501 5.1 makes INBOX case-insensitive. */
function joinPath(segments: readonly string[]): string {
  const [first, ...rest] = segments;
  if (first === undefined) return '';
  return [first.toUpperCase() === 'INBOX' ? 'INBOX' : first, ...rest].join('/');
}


export function checkFolderPattern(pattern: string): string | null {
  if (pattern.trim() === '') return 'folder pattern is empty';
  const isRegex = pattern.startsWith('||') || pattern.startsWith('|i|');
  if (isRegex) {
    if (pattern.replace(/^\|i?\|/, '') === '') return 'regular expression is empty';
    try {
      folderRegex(pattern);
    } catch (err) {
      return `invalid regular expression: ${err instanceof Error ? err.message : String(err)}`;
    }
    return null;
  }
  if (pattern.split('/').some((segment) => segment === '')) {
    return 'folder path has an empty segment (a leading, trailing or doubled "/")';
  }
  return null;
}

interface Matcher {
  pattern: FolderPattern;
  /** The joined path of a plain (non-regex) pattern: an include naming a virtual folder exactly wins. */
  literal: string | null;
  matches(paths: readonly string[]): boolean;
}

function compile(pattern: FolderPattern): Matcher {
  const problem = checkFolderPattern(pattern.path);
  if (problem !== null) throw new RangeError(`folder pattern "${pattern.path}": ${problem}`);
  const regex = folderRegex(pattern.path);
  if (regex !== null) return { pattern, literal: null, matches: (paths) => paths.some((p) => regex.test(p)) };
  const literal = joinPath(pattern.path.split('/'));
  return { pattern, literal, matches: (paths) => paths.includes(literal) };
}

/** The folder's own path, then (when the pattern covers subfolders) every ancestor's path. */
function candidates(path: readonly string[], subfolders: boolean): string[] {
  if (!subfolders) return [joinPath(path)];
  return path.map((_, i) => joinPath(path.slice(0, path.length - i)));
}

function findMatch(matchers: readonly Matcher[], path: readonly string[]): Matcher | undefined {
  return matchers.find((m) => m.matches(candidates(path, m.pattern.subfolders)));
}

/**
 * Decides every folder, in input order. Precedence: not selectable, exclude list, virtual folder
 * (\All, \Flagged, unless the include list names that exact folder), default exclusions (and their
 * subfolders), include list. Special-use attributes are used per kind only when the server has
 * SPECIAL-USE and marks some folder with that kind; otherwise the usual names are matched (last
 * segment, case-insensitive), since servers that mark only some folders exist.
 * Throws RangeError for a pattern checkFolderPattern rejects.
 */
export function effectiveFolders(
  folders: readonly SourceFolder[],
  rules: FolderRules,
  serverHasSpecialUse: boolean,
): EffectiveFolder[] {
  const include = rules.include.map(compile);
  const exclude = rules.exclude.map(compile);
  const useOf = (folder: SourceFolder | undefined): string | undefined =>
    serverHasSpecialUse ? folder?.specialUse?.toLowerCase() : undefined;
  const marked = new Set(folders.map(useOf));
  const byPath = new Map(folders.map((f) => [joinPath(f.path), f]));
  const sentFolders = new Set(rules.sentFolders.map((p) => joinPath(p.split('/'))));

  /** Whether the folder at `path` is of `kind`; returns how it was recognised, for the reason. */
  const recognise = (kind: Kind, path: readonly string[]): string | null => {
    const last = path[path.length - 1];
    if (kind.use !== null && marked.has(kind.use)) {
      const folder = byPath.get(joinPath(path));
      return useOf(folder) === kind.use ? (folder?.specialUse ?? kind.use) : null;
    }
    return last !== undefined && kind.names.includes(last.toLowerCase()) ? `"${last}"` : null;
  };

  const defaultExclusion = (path: readonly string[]): string | null => {
    for (let length = 1; length <= path.length; length++) {
      const prefix = path.slice(0, length);
      for (const kind of DEFAULT_EXCLUSIONS) {
        const how = recognise(kind, prefix);
        if (how === null) continue;
        return length === path.length ? `default exclusion (${how})` : `inside default exclusion "${joinPath(prefix)}"`;
      }
    }
    return null;
  };

  const decide = (folder: SourceFolder): { archived: boolean; reason: string } => {
    if (folder.noSelect === true) return { archived: false, reason: 'not selectable' };
    const excludedBy = findMatch(exclude, folder.path);
    if (excludedBy !== undefined) return { archived: false, reason: `excluded by "${excludedBy.pattern.path}"` };
    const own = joinPath(folder.path);
    const use = useOf(folder);
    if (use !== undefined && VIRTUAL.includes(use) && !include.some((m) => m.literal === own)) {
      return { archived: false, reason: `virtual folder (${folder.specialUse ?? use})` };
    }
    if (rules.excludeDefaults) {
      const reason = defaultExclusion(folder.path);
      if (reason !== null) return { archived: false, reason };
    }
    if (include.length === 0) return { archived: true, reason: 'included' };
    const includedBy = findMatch(include, folder.path);
    if (includedBy === undefined) return { archived: false, reason: 'not in include list' };
    return { archived: true, reason: `included by "${includedBy.pattern.path}"` };
  };

  return folders.map((folder) => ({
    path: [...folder.path],
    ...decide(folder),
    sent: sentFolders.has(joinPath(folder.path)) || (rules.detectSent && recognise(SENT, folder.path) !== null),
  }));
}
