// The read-only IMAP service of `coffer serve`: imap-core listening on imap.starttls (plain, with
// STARTTLS and LOGINDISABLED until then) and imap.tls (implicit TLS), with Coffer's hooks and a
// notifier fed by the store's writer. Stopping says BYE to every client and closes the listeners.
import { createLoginThrottle, type LoginThrottle } from '../auth/throttle.js';
import type { Config } from '../config/index.js';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import { splitHostPort } from '../net/address.js';
import type { SearchIndex } from '../search/search-index.js';
import type { ArchiveStore } from '../store/store.js';
import type { Certificate } from '../tls/certificate.js';
import { createImapServer, type ImapHooks, type ImapServer } from '../vendor/imap-core.js';
import { createImapAudit } from './audit.js';
import type { ImapContext } from './context.js';
import { createOnAuth } from './handlers/on-auth.js';
import { createOnExpunge } from './handlers/on-expunge.js';
import { createOnFetch } from './handlers/on-fetch.js';
import { createOnList } from './handlers/on-list.js';
import { createOnLsub } from './handlers/on-lsub.js';
import { createOnOpen } from './handlers/on-open.js';
import { createOnSearch } from './handlers/on-search.js';
import { createOnStatus } from './handlers/on-status.js';
import { createOnSubscribe } from './handlers/on-subscribe.js';
import { MetadataCache } from './metadata-cache.js';
import { createArchiveNotifier, type ArchiveNotifier } from './notifier.js';
import { ImapSessions } from './sessions.js';
import { settle } from './settle.js';

/** About 40,000 messages' ENVELOPE and BODYSTRUCTURE text (metadata-cache.ts). */
const METADATA_CACHE_BYTES = 32 * 1024 * 1024;

export interface ImapComponentOptions {
  config: Config;
  store: ArchiveStore;
  index: SearchIndex;
  logger: Logger;
  certificate: Certificate;
  throttle?: LoginThrottle;
}

export interface ImapComponent extends Component {
  /** Where each listener is bound (port 0 in the config becomes the real port). */
  addresses(): { starttls: number | null; tls: number | null };
}

export function createImapComponent(options: ImapComponentOptions): ImapComponent {
  let config = options.config;
  const logger = options.logger.child({ component: 'imap' });
  const context: ImapContext = {
    store: options.store,
    index: options.index,
    config: () => config,
    sessions: new ImapSessions(logger),
    audit: createImapAudit(options.logger, () => config.imap.auditRetrievals),
    throttle: options.throttle ?? createLoginThrottle(),
    metadataCache: new MetadataCache(METADATA_CACHE_BYTES),
  };
  const hooks = adaptHooks(context, logger);
  const listeners: { kind: 'starttls' | 'tls'; server: ImapServer; port: number }[] = [];
  let notifier: ArchiveNotifier | undefined;

  async function listen(kind: 'starttls' | 'tls', address: string, activeNotifier: ArchiveNotifier): Promise<void> {
    const { host, port } = splitHostPort(address);
    const server = createImapServer({
      secure: kind === 'tls',
      key: options.certificate.key,
      cert: options.certificate.cert,
      notifier: activeNotifier,
      hooks,
      idleTimeoutMs: config.imap.idleTimeout,
      onEngineError: (err, cid) => logger.debug({ cid, err: { message: err.message, code: (err as { code?: string }).code } }, 'imap connection error'),
    });
    await new Promise<void>((resolve, reject) => {
      let listening = false;
      // Registered before listen(): while binding an error is fatal (address in use); afterwards
      // it is one connection's problem (a reset, a failed TLS handshake).
      server.on('error', (err) => {
        if (!listening) reject(err);
        else logger.debug({ err: { message: err.message, code: err.code } }, 'imap connection error');
      });
      server.listen(port, host, () => {
        listening = true;
        resolve();
      });
    });
    const bound = server.server.address();
    const boundPort = typeof bound === 'object' && bound !== null && 'port' in bound ? Number(bound.port) : port;
    listeners.push({ kind, server, port: boundPort });
    logger.info({ listener: kind, host, port: boundPort }, 'imap listening');
  }

  return {
    name: 'imap',
    async start() {
      notifier = createArchiveNotifier(options.store, (err) => logger.error({ err }, 'imap: reading new listings failed'));
      try {
        if (config.imap.starttls !== null) await listen('starttls', config.imap.starttls, notifier);
        if (config.imap.tls !== null) await listen('tls', config.imap.tls, notifier);
      } catch (err) {
        await this.stop();
        throw err;
      }
    },
    async stop() {
      await Promise.all(
        listeners.splice(0).map(
          ({ server }) =>
            new Promise<void>((resolve) => {
              server.close(resolve);
              // A read-only server has nothing to finish: everyone is told and hung up now
              // rather than after imap-core's close timeout.
              for (const connection of server.connections) {
                connection.send('* BYE Coffer is shutting down');
                setImmediate(() => connection.close());
              }
            }),
        ),
      );
      notifier?.close();
      notifier = undefined;
    },
    async reload(next) {
      if (next.imap.starttls !== config.imap.starttls || next.imap.tls !== config.imap.tls) {
        logger.warn('imap listener changes take effect only after a restart');
      }
      // Users, grants and archives apply to the next command of every session.
      config = next;
    },
    addresses() {
      const port = (kind: 'starttls' | 'tls') => listeners.find((listener) => listener.kind === kind)?.port ?? null;
      return { starttls: port('starttls'), tls: port('tls') };
    },
  };
}

/** Coffer's async handlers as imap-core's callback hooks. */
function adaptHooks(context: ImapContext, logger: Logger): ImapHooks {
  const onAuth = createOnAuth(context);
  const onList = createOnList(context);
  const onLsub = createOnLsub(context);
  const onSubscribe = createOnSubscribe(context);
  const onStatus = createOnStatus(context);
  const onOpen = createOnOpen(context);
  const onFetch = createOnFetch(context);
  const onSearch = createOnSearch(context);
  const onExpunge = createOnExpunge();
  return {
    onAuth: (login, session, callback) => settle(() => onAuth(login, session), callback, logger),
    onList: (query, session, callback) => settle(() => onList(query, session), callback, logger),
    onLsub: (query, session, callback) => settle(() => onLsub(query, session), callback, logger),
    onSubscribe: (path, session, callback) => settle(() => onSubscribe(path, session), callback, logger),
    onStatus: (path, session, callback) => settle(() => onStatus(path, session), callback, logger),
    onOpen: (path, session, callback) => settle(() => onOpen(path, session), callback, logger),
    onFetch: (mailbox, fetchOptions, session, callback) => settle(() => onFetch(mailbox, fetchOptions, session), callback, logger),
    onSearch: (mailbox, searchOptions, session, callback) => settle(() => onSearch(mailbox, searchOptions, session), callback, logger),
    onExpunge: (_mailbox, _options, _session, callback) => settle(() => onExpunge(), callback, logger),
  };
}
