import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { WebhookAllowList } from '@anime/config';
import { addressRefusal, hostAllowed, TargetRefusedError } from './target-policy';

/** How a host name becomes addresses; tests pass a resolver mapping a name to 127.0.0.1. */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));

/**
 * A `lookup` for http.request: resolves the name once, checks the address it picks, and hands that
 * very address to the socket. The check and the connection see one answer, so a name re-pointed at a
 * private address between a check and a connect (DNS rebinding) cannot slip through.
 */
export function pinnedLookup(allow: WebhookAllowList, resolve: Resolve = systemResolve): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    resolve(hostname).then(
      (addresses) => {
        const picked = addresses[0];
        if (!picked) return callback(new TargetRefusedError(`${hostname} resolves to no address`));
        const refusal = hostAllowed(hostname, allow) ? null : addressRefusal(picked.address, allow);
        if (refusal) return callback(new TargetRefusedError(`${hostname} resolves to ${picked.address}: ${refusal}`));
        if (options?.all) callback(null, [picked]);
        else callback(null, picked.address, picked.family);
      },
      (error: Error) => callback(error),
    );
  }) as LookupFunction;
}
