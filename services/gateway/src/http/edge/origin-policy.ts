import type { IncomingMessage } from 'node:http';
import type { EdgeSettings } from './edge-settings';

/** Why the edge refuses a request before any route sees it; null when it may pass. */
export type EdgeRefusal = { status: number; code: 'host_not_allowed' | 'origin_not_allowed'; message: string } | null;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// Probes reach a container by its IP, whatever ALLOWED_HOSTS says.
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Which hosts and browser origins the gateway deals with. An origin is allowed when CORS_ORIGINS
 * lists it or it is the gateway's own (its host is the request's Host); `Origin: null` (sandboxed
 * frames, file pages) is never allowed.
 */
export class OriginPolicy {
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;

  constructor(settings: Pick<EdgeSettings, 'corsOrigins' | 'allowedHosts'>) {
    this.origins = new Set(settings.corsOrigins.map((o) => o.toLowerCase()));
    this.hosts = new Set(settings.allowedHosts.map((h) => h.toLowerCase()));
  }

  /** For `cors` and Socket.IO's `cors`: listed origins only (the gateway's own needs no CORS). */
  isListed(origin: string | undefined): boolean {
    return !!origin && this.origins.has(origin.toLowerCase());
  }

  isAllowedOrigin(origin: string, host: string | undefined): boolean {
    if (this.isListed(origin)) return true;
    try {
      const url = new URL(origin);
      return (url.protocol === 'http:' || url.protocol === 'https:') && !!host && url.host === new URL(`http://${host}`).host;
    } catch {
      return false;
    }
  }

  /** ALLOWED_HOSTS holds names (any port) or `name:port` (that port only); unset allows every Host. */
  isAllowedHost(host: string | undefined): boolean {
    if (!this.hosts.size) return true;
    if (!host) return false;
    const value = host.toLowerCase();
    if (this.hosts.has(value)) return true;
    const name = value.replace(/:\d+$/, '');
    return name !== value && this.hosts.has(name);
  }

  /**
   * The refusal for a request: a Host not listed; or a state-changing request (any method but
   * GET, HEAD and OPTIONS) from a browser page of a foreign origin. A page may send a multipart
   * form cross-origin without any preflight, so CORS alone does not stop such writes.
   */
  refusalFor(req: Pick<IncomingMessage, 'method' | 'headers' | 'url'>): EdgeRefusal {
    const path = (req.url ?? '').split('?')[0];
    if (!PROBE_PATHS.has(path) && !this.isAllowedHost(req.headers.host)) {
      return { status: 400, code: 'host_not_allowed', message: 'this server does not answer for the requested Host' };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !SAFE_METHODS.has(req.method ?? '') && !this.isAllowedOrigin(origin, req.headers.host)) {
      return { status: 403, code: 'origin_not_allowed', message: 'requests from this Origin are not allowed (see CORS_ORIGINS)' };
    }
    return null;
  }

  /** Socket.IO handshakes (engine.io answers them 403): the Host rule, and any Origin a browser sends must be allowed. */
  handshakeRefusal(req: Pick<IncomingMessage, 'headers'>): EdgeRefusal {
    if (!this.isAllowedHost(req.headers.host)) return { status: 403, code: 'host_not_allowed', message: 'this server does not answer for the requested Host' };
    const origin = req.headers.origin;
    if (origin !== undefined && !this.isAllowedOrigin(origin, req.headers.host)) {
      return { status: 403, code: 'origin_not_allowed', message: 'Socket.IO connections from this Origin are not allowed (see CORS_ORIGINS)' };
    }
    return null;
  }
}
