// Opens an IMAP session to a profile's server with ImapFlow: implicit TLS, STARTTLS (required, so a
// stripped STARTTLS cannot downgrade the login) or plain; LOGIN, or SASL PLAIN with an
// authorization identity for master-password profiles (RFC 4616). Failures become one clear line.
import { ImapFlow } from 'imapflow';
import type { ProfileConfig } from '../../config/index.js';

export interface ImapLogin {
  user: string;
  password: string;
  /** Log in as this mailbox with the privileged user's credentials (SASL PLAIN authzid). */
  authzid?: string;
}

export type ServerConfig = ProfileConfig['server'];

export async function connectImap(server: ServerConfig, login: ImapLogin): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: server.security === 'tls',
    doSTARTTLS: server.security === 'starttls' ? true : server.security === 'none' ? false : undefined,
    tls: { rejectUnauthorized: !server.ignoreCertificateErrors },
    auth: {
      user: login.user,
      pass: login.password,
      ...(login.authzid === undefined ? {} : { authzid: login.authzid, loginMethod: 'AUTH=PLAIN' }),
    },
    connectionTimeout: server.timeout,
    greetingTimeout: server.timeout,
    socketTimeout: server.timeout,
    disableAutoIdle: true,
    // ImapFlow logs commands and responses; Coffer must never log message contents or secrets.
    logger: false,
  });
  // An error after connect (a dropped socket) is also thrown by the command in flight; this
  // listener only keeps the emitter from crashing the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw new ImapSourceError(describeImapFailure(err, server, 'connect'), err);
  }
  return client;
}

export class ImapSourceError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ImapSourceError';
  }
}

interface ImapFlowFailure {
  code?: string;
  authenticationFailed?: boolean;
  responseText?: string;
  response?: unknown;
  message?: string;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_SSL|ERR_TLS|EPROTO|HOSTNAME/;

/** One line an administrator can act on: what failed, against which server, and the server's words. */
export function describeImapFailure(err: unknown, server: ServerConfig, doing: string): string {
  const where = `imap ${server.host}:${server.port}`;
  const failure = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as ImapFlowFailure;
  const code = failure.code ?? '';
  const serverText = failure.responseText ?? (typeof failure.response === 'string' ? failure.response : undefined);
  if (failure.authenticationFailed) return `${where}: login failed${serverText ? `: ${serverText}` : ''}`;
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `${where}: cannot connect (${code})`;
  }
  if (code === 'ETIMEOUT' || code === 'ETIMEDOUT' || code === 'CONNECT_TIMEOUT' || code === 'GREETING_TIMEOUT' || code === 'UPGRADE_TIMEOUT') {
    return `${where}: timed out while trying to ${doing} (${code})`;
  }
  if (TLS_CODES.test(code) || /certificate|TLS|SSL/i.test(failure.message ?? '')) {
    return `${where}: TLS failed: ${failure.message ?? code} (set ignoreCertificateErrors for a self-signed certificate)`;
  }
  if (code === 'NoConnection' || code === 'EPIPE' || code === 'ECONNRESET' || /closed|Connection not available/i.test(failure.message ?? '')) {
    return `${where}: the server closed the connection while trying to ${doing}`;
  }
  if (serverText) return `${where}: ${doing} failed: ${serverText}`;
  return `${where}: ${doing} failed: ${failure.message ?? code}`;
}
