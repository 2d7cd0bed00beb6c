import { z } from 'zod';

const commaList = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

const millis = (fallback: number, max: number) => z.coerce.number().int().min(100, 'must be at least 100 (ms)').max(max).default(fallback);

/** Where the ops endpoints (/healthz, /readyz, /metrics) of the worker services listen: an IP or a host name. */
export const opsHost = z.union([z.ipv4(), z.ipv6(), z.hostname()], { error: 'must be an IP address or a host name' }).default('127.0.0.1');

/** Browser origins (`scheme://host[:port]`) allowed to call the gateway; each normalised as `URL.origin`. */
const corsOrigins = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const origins: string[] = [];
    for (const item of commaList(value)) {
      let origin: string | undefined;
      try {
        const url = new URL(item);
        if (['http:', 'https:'].includes(url.protocol) && url.pathname === '/' && !url.search && !url.hash && !url.username) origin = url.origin;
      } catch {
        // reported below
      }
      if (!origin || item.replace(/\/$/, '').toLowerCase() !== origin.toLowerCase()) {
        ctx.addIssue({ code: 'custom', message: 'each entry must be an origin such as https://studio.example.com (scheme, host, optional port; no path)' });
        return z.NEVER;
      }
      origins.push(origin);
    }
    return origins;
  });

/** Host names (optionally `host:port`) the gateway answers for; empty accepts any Host header. */
const allowedHosts = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const hosts = commaList(value).map((h) => h.toLowerCase());
    for (const host of hosts) {
      if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(host)) {
        ctx.addIssue({ code: 'custom', message: 'each entry must be a host name or IP, optionally with :port' });
        return z.NEVER;
      }
    }
    return hosts;
  });

/** The gateway's HTTP edge: server timeouts (slow clients cannot hold sockets) and cross-origin rules. */
export const gatewayEdgeEnv = {
  /** Time a client has to send a request's headers. */
  HTTP_HEADERS_TIMEOUT_MS: millis(10_000, 600_000),
  /** Time a client has to send a whole request (headers and body), except on upload routes. */
  HTTP_REQUEST_TIMEOUT_MS: millis(30_000, 3_600_000),
  /** How long an idle keep-alive connection stays open. */
  HTTP_KEEPALIVE_TIMEOUT_MS: millis(5_000, 600_000),
  /** Time a client has to send a whole request on upload routes (reference upload, bundle import). */
  HTTP_UPLOAD_TIMEOUT_MS: millis(300_000, 3_600_000),
  CORS_ORIGINS: corsOrigins,
  ALLOWED_HOSTS: allowedHosts,
};
