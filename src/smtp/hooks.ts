// The smtp-server hooks as async functions: connect (allowFrom, connection limit), auth (scrypt
// users of the endpoints), MAIL (TLS when every endpoint needs it), RCPT (endpoint lookup and its
// own policy, limits) and DATA (read, deliver, reply only when durable). They answer by throwing
// SmtpReply; endpoint.ts adapts them to callbacks with settle(). One info line per transaction.
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { Logger } from '../log/logger.js';
import { deliver, type IngestPort } from './deliver.js';
import { verifyPassword } from '../auth/password.js';
import type { LoginThrottle } from '../auth/throttle.js';
import { displayIp } from '../net/address.js';
import { isAllowed, type SmtpPolicy } from './policy.js';
import { receiveMessage } from './receive.js';
import { Replies, SmtpReply } from './reply.js';
import type { SessionState, SessionTable } from './session.js';

export interface HookContext {
  policy(): SmtpPolicy;
  readonly sessions: SessionTable;
  readonly ingest: IngestPort;
  readonly logger: Logger;
  maxConnections(): number;
  stopping(): boolean;
  /** Registers an in-flight delivery so that stop() can wait for it. */
  track(delivery: Promise<unknown>): void;
  /** Failed logins per client address and user name (password guessing). */
  readonly throttle: LoginThrottle;
}

export interface Hooks {
  onConnect(session: SMTPServerSession): Promise<void>;
  onSecure(session: SMTPServerSession): Promise<void>;
  onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<SMTPServerAuthenticationResponse>;
  onMailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void>;
  onRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void>;
  onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string>;
  onClose(session: SMTPServerSession): void;
}

/**
 * AUTH is offered only on an encrypted session and only when some endpoint has users (RFC 4954
 * section 4: no plain-text passwords; advertising it in clear text invites clients to try).
 * Set per session, so a reload that adds or removes users applies to the next connection.
 */
function setAuthOffer(session: SMTPServerSession, policy: SmtpPolicy): void {
  session.disabledCommands = policy.authEnabled && session.secure ? [] : ['AUTH'];
}

export function createHooks(context: HookContext): Hooks {
  const { sessions } = context;

  const stateOf = (session: SMTPServerSession): SessionState => {
    const state = sessions.get(session);
    // onConnect runs before any command, so a missing state is a bug; refuse temporarily.
    if (!state) throw new Error('smtp session without state');
    return state;
  };

  return {
    async onConnect(session) {
      const ip = displayIp(session.remoteAddress);
      const logger = context.logger.child({ cid: session.id, ip });
      const policy = context.policy();
      if (!policy.admits(session.remoteAddress)) {
        logger.info('smtp connection refused: client not in any endpoint allowFrom');
        throw Replies.accessDenied();
      }
      if (sessions.size >= context.maxConnections()) {
        logger.warn({ limit: context.maxConnections() }, 'smtp connection refused: too many connections');
        throw Replies.tooManyConnections();
      }
      setAuthOffer(session, policy);
      sessions.add(session, { cid: session.id, ip, logger, user: null, authorizedEndpoints: new Set(), transaction: null, delivering: false });
      logger.debug('smtp connection');
    },

    async onSecure(session) {
      // RFC 3207 section 4.2: nothing learned before STARTTLS carries over (smtp-server resets
      // its own session the same way).
      const state = sessions.get(session);
      if (state) {
        state.user = null;
        state.authorizedEndpoints = new Set();
        state.transaction = null;
      }
      setAuthOffer(session, context.policy());
    },

    async onAuth(auth, session) {
      const state = stateOf(session);
      const name = auth.username ?? '';
      const password = auth.password ?? '';
      const attempt = { ip: state.ip, user: name };
      // Checked before any hash is computed: a locked-out guesser costs no scrypt work.
      const wait = context.throttle.retryAfter(attempt);
      if (wait > 0) {
        state.logger.warn({ user: name, method: auth.method, retryAfter: wait }, 'smtp authentication throttled');
        throw Replies.authThrottled(wait);
      }
      const authorized = new Set<string>();
      for (const endpoint of context.policy().endpoints) {
        const hash = endpoint.users?.get(name);
        if (hash !== undefined && (await verifyPassword(password, hash))) authorized.add(endpoint.address);
      }
      if (authorized.size === 0) {
        context.throttle.failed(attempt);
        state.logger.info({ user: name, method: auth.method }, 'smtp authentication failed');
        throw Replies.authFailed();
      }
      context.throttle.succeeded(attempt);
      state.user = name;
      state.authorizedEndpoints = authorized;
      state.logger.info({ user: name, method: auth.method }, 'smtp authenticated');
      return { user: name };
    },

    async onMailFrom(address, session) {
      const state = stateOf(session);
      if (context.stopping()) throw Replies.shuttingDown();
      const policy = context.policy();
      if (policy.tlsRequiredForMail && !session.secure) throw Replies.tlsRequired();
      const size = address.args && typeof address.args.SIZE === 'string' ? Number(address.args.SIZE) : null;
      state.transaction = { number: session.transaction, policy, endpoints: new Map(), otherRecipients: new Set(), declaredSize: size };
    },

    async onRcptTo(address, session) {
      const state = stateOf(session);
      const transaction = sessions.transactionOf(session);
      if (!transaction) throw new SmtpReply(503, '5.5.1 Need MAIL command');
      const found = transaction.policy.endpointFor(address.address);
      if (!found) throw Replies.unknownRecipient();
      const { endpoint } = found;
      if (!isAllowed(endpoint.allowFrom, session.remoteAddress)) throw Replies.recipientNotAllowed();
      if (endpoint.requireTLS && !session.secure) throw Replies.tlsRequired();
      if (endpoint.users !== null && !state.authorizedEndpoints.has(endpoint.address)) {
        throw state.user === null ? Replies.authRequired() : Replies.recipientNotAuthorized();
      }
      if (transaction.declaredSize !== null && transaction.declaredSize > endpoint.maxMessageSize) throw Replies.tooBig();
      const recipient = address.address.toLowerCase();
      const repeated = session.envelope.rcptTo.some((rcpt) => rcpt.address.toLowerCase() === recipient);
      if (!repeated) {
        // The strictest limit among the endpoints this transaction delivers to applies.
        const limits = [endpoint, ...transaction.endpoints.values()].map((e) => e.maxRecipients);
        if (session.envelope.rcptTo.length >= Math.min(...limits)) throw Replies.tooManyRecipients();
      }
      transaction.endpoints.set(endpoint.address, endpoint);
      if (!found.isEndpointAddress) transaction.otherRecipients.add(recipient);
    },

    async onData(stream, session) {
      const state = stateOf(session);
      const transaction = sessions.transactionOf(session);
      const started = Date.now();
      const endpoints = transaction ? [...transaction.endpoints.values()] : [];
      const limit = endpoints.length > 0 ? Math.min(...endpoints.map((endpoint) => endpoint.maxMessageSize)) : 0;
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      const line = { mailFrom, recipients: session.envelope.rcptTo.length };
      const received = await receiveMessage(stream, limit);
      if (received.kind === 'too-big') {
        state.logger.info({ ...line, size: received.size, limit, code: 552, ms: Date.now() - started }, 'smtp transaction');
        throw Replies.tooBig();
      }
      if (!transaction) throw new Error('DATA without a transaction');
      state.delivering = true;
      const delivery = deliver(context.ingest, {
        raw: received.raw,
        mailFrom: mailFrom === '' ? null : mailFrom,
        endpointArchives: [...new Set(endpoints.map((endpoint) => endpoint.archive))],
        otherRecipients: [...transaction.otherRecipients],
        origin: `smtp:${state.cid} from ${state.ip}`,
        receivedAt: new Date(),
      });
      context.track(delivery);
      try {
        const result = await delivery;
        state.logger.info(
          { ...line, size: received.raw.length, kind: result.kind, sha: result.sha, archives: result.archives, code: 250, ms: Date.now() - started },
          'smtp transaction',
        );
        return `2.0.0 Ok: archived as ${result.sha.slice(0, 16)}`;
      } catch (err) {
        state.logger.error({ ...line, size: received.raw.length, code: 451, ms: Date.now() - started, err }, 'smtp transaction');
        throw Replies.temporaryFailure();
      } finally {
        state.delivering = false;
      }
    },

    onClose(session) {
      sessions.get(session)?.logger.debug('smtp connection closed');
      sessions.remove(session);
    },
  };
}
