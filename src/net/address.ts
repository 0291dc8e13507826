// Network address helpers shared by the SMTP and IMAP listeners: listen addresses from the config
// and client addresses as they appear in logs and access rules.

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), as dual-stack listeners report IPv4 clients. */
export function mappedIpv4(ip: string): string | undefined {
  return MAPPED_V4.exec(ip)?.[1];
}

/** Plain IPv4 for IPv4-mapped IPv6 addresses, for logs and origins. */
export function displayIp(ip: string): string {
  return mappedIpv4(ip) ?? ip;
}

/** `host:port` or `[v6]:port`, already validated by the config schema. */
export function splitHostPort(value: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2]) };
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon), port: Number(value.slice(colon + 1)) };
}
