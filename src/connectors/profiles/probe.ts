// `coffer profile test` and `coffer profile folders`: connect to each mailbox of a profile, log in,
// and list what a run would see, without archiving anything. Needs no store, so it also works
// while the daemon runs.
import type { Config, ProfileConfig } from '../../config/index.js';
import { describeError } from '../../errors.js';
import { connectImap } from '../imap/connect.js';
import type { EffectiveFolder } from '../imap/folder-rules.js';
import { effectiveFoldersOf } from '../imap/pull.js';
import { connectPop3 } from '../pop3/client.js';
import type { MailboxJob } from './job.js';
import { mailboxJobs } from './mailboxes.js';

export interface MailboxProbe {
  mailbox: string;
  ok: boolean;
  /** IMAP: the effective folder list; POP3: none. */
  folders?: (EffectiveFolder & { serverPath: string })[];
  /** POP3: messages in the mailbox. */
  messages?: number;
  error?: string;
}

export async function probeProfile(profile: ProfileConfig, config: Config, env: NodeJS.ProcessEnv): Promise<MailboxProbe[]> {
  const jobs = await mailboxJobs(profile, config, env);
  const results: MailboxProbe[] = [];
  // One at a time: a test is for reading, not for speed, and keeps the server's view simple.
  for (const job of jobs) results.push(await probeMailbox(profile, job));
  return results;
}

async function probeMailbox(profile: ProfileConfig, job: MailboxJob): Promise<MailboxProbe> {
  try {
    if (profile.server.protocol === 'pop3') {
      const client = await connectPop3({
        host: profile.server.host,
        port: profile.server.port,
        security: profile.server.security,
        ignoreCertificateErrors: profile.server.ignoreCertificateErrors,
        timeoutMs: profile.server.timeout,
        user: job.login.user,
        password: job.login.password,
      });
      try {
        return { mailbox: job.label, ok: true, messages: (await client.uidl()).length };
      } finally {
        await client.quit().catch(() => client.close());
      }
    }
    const client = await connectImap(profile.server, job.login);
    try {
      const folders = await effectiveFoldersOf(client, { profile });
      return { mailbox: job.label, ok: true, folders: folders.map((entry) => ({ ...entry.folder, serverPath: entry.serverPath })) };
    } finally {
      await client.logout().catch(() => client.close());
    }
  } catch (err) {
    return { mailbox: job.label, ok: false, error: describeError(err) };
  }
}
