import { isIP } from 'node:net';
import { z } from 'zod';

/** WEBHOOK_ALLOW, parsed: host names allowed whatever they resolve to, and address ranges. */
export interface WebhookAllowList {
  hosts: string[];
  /** `[address, prefix length]`, e.g. `['127.0.0.1', 32]`. */
  cidrs: [string, number][];
}

/**
 * Webhook targets allowed although they are not public (private, loopback, link-local …): a comma
 * list of host names, IP addresses and CIDRs. Empty (the default): only public addresses.
 */
export const webhookAllow = z
  .string()
  .default('')
  .transform((value, ctx): WebhookAllowList => {
    const list: WebhookAllowList = { hosts: [], cidrs: [] };
    for (const item of value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
      const [bracketed, bits, extra] = item.split('/');
      const address = bracketed.replace(/^\[(.*)\]$/, '$1');
      const family = isIP(address);
      const max = family === 4 ? 32 : 128;
      if (family && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max))) {
        list.cidrs.push([address, bits === undefined ? max : Number(bits)]);
      } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(item) && item.length <= 253) {
        list.hosts.push(item);
      } else {
        ctx.addIssue({ code: 'custom', message: 'each entry must be a host name, an IP address or a CIDR such as 10.0.0.0/8' });
        return z.NEVER;
      }
    }
    return list;
  });
