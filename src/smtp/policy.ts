// SMTP policy compiled from the `smtp` config section: which endpoint owns a recipient address,
// which client networks each endpoint admits (node:net BlockList), TLS and AUTH requirements and
// size/recipient limits. Immutable: a reload compiles a new policy and new transactions use it,
// while a transaction in progress keeps the policy it started with.
import { BlockList, isIPv4 } from 'node:net';
import type { Config } from '../config/index.js';
import { mappedIpv4 } from '../net/address.js';

type SmtpConfig = Config['smtp'];

export interface EndpointPolicy {
  /** Lower-cased journal address. */
  readonly address: string;
  readonly archive: string;
  readonly allowFrom: BlockList;
  readonly requireTLS: boolean;
  /** Login name → scrypt hash; null when the endpoint needs no AUTH. */
  readonly users: ReadonlyMap<string, string> | null;
  readonly acceptAnyRecipient: boolean;
  readonly maxMessageSize: number;
  readonly maxRecipients: number;
}

export interface SmtpPolicy {
  readonly endpoints: readonly EndpointPolicy[];
  /** TLS before MAIL FROM: only when every endpoint requires it (there is nothing else to offer). */
  readonly tlsRequiredForMail: boolean;
  /** AUTH is offered when any endpoint has users. */
  readonly authEnabled: boolean;
  /** Advertised in EHLO SIZE and enforced on MAIL FROM SIZE=: the largest endpoint limit. */
  readonly advertisedSize: number;
  /** True when some endpoint admits this client (checked at connect). */
  admits(ip: string): boolean;
  /** The endpoint for an RCPT TO address: its own address first, else the any-recipient endpoint. */
  endpointFor(recipient: string): { endpoint: EndpointPolicy; isEndpointAddress: boolean } | null;
}

/** Used for SIZE when no endpoint is configured (every RCPT is refused anyway). */
const FALLBACK_SIZE = 25 * 1024 * 1024;

export function compilePolicy(smtp: SmtpConfig): SmtpPolicy {
  const endpoints = smtp.endpoints.map(compileEndpoint);
  const byAddress = new Map(endpoints.map((endpoint) => [endpoint.address, endpoint]));
  const catchAll = endpoints.find((endpoint) => endpoint.acceptAnyRecipient) ?? null;
  return {
    endpoints,
    tlsRequiredForMail: endpoints.length > 0 && endpoints.every((endpoint) => endpoint.requireTLS),
    authEnabled: endpoints.some((endpoint) => endpoint.users !== null),
    advertisedSize: endpoints.length > 0 ? Math.max(...endpoints.map((endpoint) => endpoint.maxMessageSize)) : FALLBACK_SIZE,
    admits: (ip) => endpoints.some((endpoint) => isAllowed(endpoint.allowFrom, ip)),
    endpointFor(recipient) {
      const own = byAddress.get(recipient.toLowerCase());
      if (own) return { endpoint: own, isEndpointAddress: true };
      return catchAll ? { endpoint: catchAll, isEndpointAddress: false } : null;
    },
  };
}

function compileEndpoint(config: SmtpConfig['endpoints'][number]): EndpointPolicy {
  const allowFrom = new BlockList();
  for (const cidr of config.allowFrom) {
    const slash = cidr.lastIndexOf('/');
    const address = cidr.slice(0, slash);
    allowFrom.addSubnet(address, Number(cidr.slice(slash + 1)), isIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return {
    address: config.address.toLowerCase(),
    archive: config.archive,
    allowFrom,
    requireTLS: config.requireTLS,
    users: config.auth ? new Map(config.auth.users.map((user) => [user.name, user.passwordHash])) : null,
    acceptAnyRecipient: config.acceptAnyRecipient,
    maxMessageSize: config.maxMessageSize,
    maxRecipients: config.maxRecipients,
  };
}

/**
 * A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; administrators write IPv4 rules
 * for them, so such an address is checked as IPv4 (and, for completeness, as written).
 */
export function isAllowed(list: BlockList, ip: string): boolean {
  const mapped = mappedIpv4(ip);
  if (mapped !== undefined && list.check(mapped, 'ipv4')) return true;
  if (isIPv4(ip)) return list.check(ip, 'ipv4');
  try {
    return list.check(ip, 'ipv6');
  } catch {
    // Not an address BlockList understands (a zone id such as fe80::1%eth0): never allowed.
    return false;
  }
}
