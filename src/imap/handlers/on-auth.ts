// LOGIN and AUTHENTICATE PLAIN. imap-core only calls this on an encrypted connection (it answers
// "Run STARTTLS first" before TLS, and advertises LOGINDISABLED). Failures are counted per client
// address and per login name; once either is locked out, logins are refused without hashing.
// Unknown names cost a hash too, so timing does not tell which names exist.
import { hashPassword, verifyPassword } from '../../auth/password.js';
import type { ImapSession } from '../../vendor/imap-core.js';
import { findLoginUser } from '../accounts.js';
import type { ImapContext } from '../context.js';

export type AuthAnswer = { user: { id: string; username: string } } | Record<string, never>;

export function createOnAuth(context: ImapContext) {
  // A real hash of a random password: verifying against it takes as long as against a user's.
  let decoy: Promise<string> | undefined;
  return async (login: { method: string; username: string; password: string }, session: ImapSession): Promise<AuthAnswer> => {
    const state = context.sessions.of(session);
    const attempt = { ip: state.ip, user: login.username };
    const who = { cid: state.cid, ip: state.ip, user: login.username };
    const wait = context.throttle.retryAfter(attempt);
    if (wait > 0) {
      context.audit.loginFailed(who, login.method, 'throttled', wait);
      return {};
    }
    const user = findLoginUser(context.config(), login.username);
    decoy ??= hashPassword(String(Math.random()));
    const valid = await verifyPassword(login.password, user?.passwordHash ?? (await decoy));
    if (!user || !valid) {
      context.throttle.failed(attempt);
      context.audit.loginFailed(who, login.method, 'credentials');
      return {};
    }
    context.throttle.succeeded(attempt);
    state.user = user.name;
    context.audit.loginSucceeded({ ...who, user: user.name }, login.method);
    return { user: { id: user.name, username: user.name } };
  };
}
