import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { WebhookAllowList } from '@anime/config';

/** A webhook target refused: not http(s), or an address that is not public and not in WEBHOOK_ALLOW. */
export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

export const NO_ALLOW: WebhookAllowList = { hosts: [], cidrs: [] };

/**
 * Why an address may not be called, or null when it may. Only ipaddr.js' `unicast` range is public:
 * private, loopback, link-local (169.254.169.254, the cloud metadata service, among them),
 * unspecified (0.0.0.0/8), carrier-grade NAT (100.64/10), unique-local (fc00::/7), multicast and
 * reserved ranges are refused unless WEBHOOK_ALLOW lists them. IPv4-mapped IPv6 is judged as IPv4.
 */
export function addressRefusal(address: string, allow: WebhookAllowList): string | null {
  if (!ipaddr.isValid(address)) return `"${address}" is not an IP address`;
  const parsed = ipaddr.process(address);
  const range = ipv4Compatible(parsed) ? 'IPv4-compatible (deprecated, ::/96)' : parsed.range();
  if (range === 'unicast') return null;
  for (const [base, bits] of allow.cidrs) {
    const network = ipaddr.process(base);
    if (network.kind() === parsed.kind() && parsed.match(network, bits)) return null;
  }
  return `${parsed.toString()} is a ${range} address; only public addresses are called unless WEBHOOK_ALLOW lists it`;
}

/**
 * `::a.b.c.d` (`http://[::127.0.0.1]/` parses to `::7f00:1`): deprecated IPv4-compatible IPv6, which
 * ipaddr.js counts as unicast. Its IPv4 part may name a loopback or private address; none is public.
 */
function ipv4Compatible(parsed: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0) && parsed.range() === 'unicast';
}

export const hostAllowed = (hostname: string, allow: WebhookAllowList) => allow.hosts.includes(hostname.toLowerCase().replace(/\.$/, ''));

/** The host of a URL as DNS or an IP literal takes it (URL keeps IPv6 in brackets). */
export const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

export function checkScheme(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TargetRefusedError(`webhook URL must be http(s), not ${url.protocol}`);
}

/**
 * The registration check: scheme, then every address the host resolves to now. A name that does not
 * resolve yet is accepted (it is checked again, on the address actually connected to, at delivery).
 */
export async function checkTargetAtRegistration(rawUrl: string, allow: WebhookAllowList, timeoutMs = 3_000): Promise<void> {
  const url = new URL(rawUrl);
  checkScheme(url);
  const host = bareHost(url);
  if (hostAllowed(host, allow)) return;
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    const resolved = await Promise.race([
      dnsLookup(host, { all: true }).then((list) => list.map((a) => a.address)).catch(() => [] as string[]),
      new Promise<string[]>((resolve) => setTimeout(() => resolve([]), timeoutMs).unref()),
    ]);
    addresses = resolved;
  }
  for (const address of addresses) {
    const refusal = addressRefusal(address, allow);
    if (refusal) throw new TargetRefusedError(`webhook URL ${host === address ? 'is' : `resolves to ${address}, which is`} not allowed: ${refusal}`);
  }
}
