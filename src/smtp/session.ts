// Per-connection and per-transaction state that smtp-server's session object does not carry:
// the session logger (with cid), which endpoints an AUTH login unlocked, and, for the current
// mail transaction, the policy it started under, the endpoints its RCPTs named and the other
// recipients (credited as envelope recipients). smtp-server reuses one session object for the
// whole connection, so a WeakMap keyed by it needs no cleanup beyond forgetting on close.
import type { SMTPServerSession } from 'smtp-server';
import type { Logger } from '../log/logger.js';
import type { EndpointPolicy, SmtpPolicy } from './policy.js';

export interface Transaction {
  /** smtp-server's transaction counter; a mismatch means the client reset (RSET/EHLO) since MAIL. */
  readonly number: number;
  /** The policy in force at MAIL FROM; a reload mid-transaction does not change the rules. */
  readonly policy: SmtpPolicy;
  /** Endpoints named by RCPT (their own address or, via any-recipient, another address). */
  readonly endpoints: Map<string, EndpointPolicy>;
  /** Lower-cased RCPT TO addresses other than endpoint addresses, in arrival order. */
  readonly otherRecipients: Set<string>;
  /** MAIL FROM SIZE=, when the client declared one. */
  readonly declaredSize: number | null;
}

export interface SessionState {
  readonly cid: string;
  /** Client address as displayed (IPv4-mapped IPv6 shown as IPv4). */
  readonly ip: string;
  readonly logger: Logger;
  /** Login name after a successful AUTH. */
  user: string | null;
  /** Lower-cased addresses of the endpoints that accepted that login. */
  authorizedEndpoints: ReadonlySet<string>;
  transaction: Transaction | null;
  /** True from the end of DATA until the reply: an in-flight delivery that stop() waits for. */
  delivering: boolean;
}

export class SessionTable {
  private readonly states = new WeakMap<SMTPServerSession, SessionState>();
  private readonly open = new Set<SessionState>();

  add(session: SMTPServerSession, state: SessionState): void {
    this.states.set(session, state);
    this.open.add(state);
  }

  get(session: SMTPServerSession): SessionState | undefined {
    return this.states.get(session);
  }

  remove(session: SMTPServerSession): void {
    const state = this.states.get(session);
    if (state) this.open.delete(state);
    this.states.delete(session);
  }

  get size(): number {
    return this.open.size;
  }

  /** The current transaction, only if it is the one smtp-server is in (not one abandoned by RSET). */
  transactionOf(session: SMTPServerSession): Transaction | null {
    const transaction = this.states.get(session)?.transaction ?? null;
    return transaction !== null && transaction.number === session.transaction ? transaction : null;
  }
}
