// A profile's configured filter, deletion rule and folder rules in the shapes the rule modules
// (rules.ts, imap/folder-rules.ts) take.
import type { ProfileConfig } from '../../config/index.js';
import type { FolderRules } from '../imap/folder-rules.js';
import type { ArchiveFilter, DeleteRule } from './rules.js';

export function filterOf(profile: ProfileConfig): ArchiveFilter {
  const olderThan = profile.filter.olderThan;
  if (olderThan === undefined) return { archiveUnread: profile.filter.archiveUnread };
  return { archiveUnread: profile.filter.archiveUnread, olderThan: 'date' in olderThan ? { date: new Date(olderThan.date) } : { range: { ...olderThan.range } } };
}

export function deleteRuleOf(profile: ProfileConfig): DeleteRule {
  const rule = profile.delete;
  if (rule === 'never' || rule === 'immediately') return { kind: rule };
  if ('afterArchived' in rule) return { kind: 'afterArchived', age: { ...rule.afterArchived } };
  return { kind: 'olderThan', age: { ...rule.olderThan } };
}

export function folderRulesOf(profile: ProfileConfig): FolderRules {
  const { include, exclude, excludeDefaults, detectSent, sent } = profile.folders;
  return {
    include: include.map((pattern) => ({ ...pattern })),
    exclude: exclude.map((pattern) => ({ ...pattern })),
    excludeDefaults,
    detectSent,
    sentFolders: [...sent],
  };
}

/** Whether a run must look at every message at the source, not only at new UIDs. */
export function needsFullScan(profile: ProfileConfig): boolean {
  return profile.delete !== 'never' || !profile.filter.archiveUnread || profile.filter.olderThan !== undefined;
}
