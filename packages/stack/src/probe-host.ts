import { isIPv6 } from 'node:net';

/**
 * The host part of a URL that reaches a service listening on OPS_HOST: a wildcard address is
 * reached on its family's loopback (0.0.0.0 on 127.0.0.1, :: on ::1), an IPv6 address goes in
 * brackets, a host name as is. Unset: 127.0.0.1, the services' default.
 */
export function probeHost(opsHost: string | undefined): string {
  const host = opsHost?.trim() || '127.0.0.1';
  if (host === '0.0.0.0') return '127.0.0.1';
  const unbracketed = host.replace(/^\[(.*)\]$/, '$1');
  if (isIPv6(unbracketed)) return `[${/^[0:]+$/.test(unbracketed) ? '::1' : unbracketed}]`;
  return host;
}
