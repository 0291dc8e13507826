// The SMTP journal endpoint as a daemon Component: one smtp-server per `smtp.listen` address,
// sharing one policy and the hooks in hooks.ts. STARTTLS uses the Coffer certificate; AUTH is
// offered only after TLS. stop() stops accepting, lets open transactions finish (up to
// closeTimeout), hangs up idle clients with 421 and waits for in-flight deliveries. reload()
// swaps the policy for new transactions; listener changes need a restart.
import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Config } from '../config/index.js';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { IngestPort } from './deliver.js';
import { createHooks } from './hooks.js';
import { compilePolicy, type SmtpPolicy } from './policy.js';
import { createLoginThrottle, type LoginThrottle } from '../auth/throttle.js';
import { splitHostPort } from '../net/address.js';
import { settle } from './reply.js';
import { SessionTable } from './session.js';

export interface SmtpComponentOptions {
  config: Config;
  ingest: IngestPort;
  logger: Logger;
  certificate: { cert: string; key: string };
  /** Failed-login limiter; one per component by default (tests pass one with a short lockout). */
  throttle?: LoginThrottle;
}

export interface SmtpComponent extends Component {
  /** Bound addresses, in `smtp.listen` order (the real port when 0 was asked for). */
  addresses(): AddressInfo[];
}

/** How often stop() looks for connections that have become idle and can be hung up. */
const IDLE_SWEEP_MS = 100;

export function createSmtpComponent(options: SmtpComponentOptions): SmtpComponent {
  const logger = options.logger.child({ component: 'smtp' });
  let config = options.config;
  let policy: SmtpPolicy = compilePolicy(config.smtp);
  let stopping = false;
  const inFlight = new Set<Promise<unknown>>();
  const sessions = new SessionTable();
  const servers: { listen: string; server: SMTPServer }[] = [];

  const hooks = createHooks({
    policy: () => policy,
    sessions,
    ingest: options.ingest,
    logger,
    maxConnections: () => config.smtp.maxConnections,
    stopping: () => stopping,
    throttle: options.throttle ?? createLoginThrottle(),
    track(delivery) {
      inFlight.add(delivery);
      const forget = (): void => void inFlight.delete(delivery);
      delivery.then(forget, forget);
    },
  });

  const serverOptions = (): SMTPServerOptions => ({
    name: config.smtp.hostname ?? osHostname(),
    banner: 'Coffer archive',
    key: options.certificate.key,
    cert: options.certificate.cert,
    size: policy.advertisedSize,
    // Journal intake is machine to machine; a reverse lookup would only add latency and a DNS
    // dependency to every connection.
    disableReverseLookup: true,
    // Endpoints without users accept unauthenticated mail; RCPT decides per endpoint.
    authOptional: true,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: false,
    hideDSN: true,
    // A hard backstop per listener; the shared limit is checked in onConnect.
    maxClients: config.smtp.maxConnections,
    socketTimeout: config.smtp.socketTimeout,
    closeTimeout: config.smtp.closeTimeout,
    // smtp-server's own log would carry AUTH exchanges and envelope details; ours is enough.
    logger: false,
    onConnect: (session, callback) => settle(() => hooks.onConnect(session), callback, logger),
    onSecure: (_socket, session, callback) => settle(() => hooks.onSecure(session), callback, logger),
    onAuth: (auth, session, callback) => settle(() => hooks.onAuth(auth, session), callback, logger),
    onMailFrom: (address, session, callback) => settle(() => hooks.onMailFrom(address, session), callback, logger),
    onRcptTo: (address, session, callback) => settle(() => hooks.onRcptTo(address, session), callback, logger),
    onData: (stream, session, callback) => settle(() => hooks.onData(stream, session), callback, logger),
    onClose: (session) => hooks.onClose(session),
  });

  async function listen(address: string): Promise<SMTPServer> {
    const { host, port } = splitHostPort(address);
    const server = new SMTPServer(serverOptions());
    await new Promise<void>((resolve, reject) => {
      let listening = false;
      // Registered before listen(): an 'error' without a listener would throw. While binding it
      // is fatal (address in use); afterwards it is one connection's problem (resets, TLS).
      server.on('error', (err: Error & { code?: string }) => {
        if (!listening) reject(err);
        else logger.debug({ err: { message: err.message, code: err.code } }, 'smtp connection error');
      });
      server.listen(port, host, () => {
        listening = true;
        resolve();
      });
    });
    return server;
  }

  /**
   * Once close() is called smtp-server answers every new command 421, so the only work left to
   * finish is a message being received (DATA) or delivered. Everyone else is told and hung up now
   * rather than holding shutdown for closeTimeout.
   */
  function closeIdle(server: SMTPServer): void {
    for (const connection of server.connections) {
      const receiving = Boolean(connection._dataStream);
      const delivering = sessions.get(connection.session)?.delivering === true;
      if (!receiving && !delivering && !connection._closing && !connection._closed) {
        connection.send(421, '4.3.2 Service shutting down, try again later');
        connection.close();
      }
    }
  }

  return {
    name: 'smtp',

    async start() {
      try {
        for (const address of config.smtp.listen) servers.push({ listen: address, server: await listen(address) });
      } catch (err) {
        await Promise.all(servers.splice(0).map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
        throw err;
      }
      logger.info({ listen: servers.map(({ listen: address }, i) => ({ address, port: this.addresses()[i]?.port })), endpoints: policy.endpoints.length }, 'smtp listening');
    },

    async stop() {
      stopping = true;
      const closing = servers.splice(0).map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            closeIdle(server);
            // Transactions in progress may finish; their connections are hung up once idle.
            const sweep = setInterval(() => closeIdle(server), IDLE_SWEEP_MS);
            sweep.unref();
            server.server.once('close', () => clearInterval(sweep));
          }),
      );
      await Promise.all(closing);
      // A client cut off by closeTimeout may have left a delivery committing: the caller closes
      // the pipeline after us, so wait for it here.
      await Promise.allSettled([...inFlight]);
    },

    async reload(next) {
      const nextPolicy = compilePolicy(next.smtp);
      const before = config.smtp.listen.join(',');
      if (next.smtp.listen.join(',') !== before) {
        logger.warn({ listen: config.smtp.listen, requested: next.smtp.listen }, 'smtp listen addresses changed; restart Coffer to apply, keeping the old listeners');
      }
      config = next;
      policy = nextPolicy;
      // Values smtp-server reads per connection or per command; new sessions pick them up.
      for (const { server } of servers) {
        server.options.size = nextPolicy.advertisedSize;
        server.options.maxClients = next.smtp.maxConnections;
        server.options.socketTimeout = next.smtp.socketTimeout;
        server.options.closeTimeout = next.smtp.closeTimeout;
        server.options.name = next.smtp.hostname ?? osHostname();
      }
      logger.info({ endpoints: nextPolicy.endpoints.length }, 'smtp configuration reloaded');
    },

    addresses() {
      return servers.flatMap(({ server }) => {
        const address = server.server.address();
        return address !== null && typeof address === 'object' ? [address] : [];
      });
    },
  };
}
