import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { sendEmpty } from './respond';
import { setServerHeader } from './server-headers';

/** The host and port Python's urllib reads from a netloc ("user@[::1]:8188"), the host lowercased. */
function splitNetloc(netloc: string): { hostname?: string; port?: number } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(netloc.slice(netloc.lastIndexOf('@') + 1).toLowerCase());
  if (!match) return {};
  const hostname = match[1].replace(/^\[|\]$/g, '');
  return { hostname: hostname || undefined, port: match[2] ? Number(match[2]) : undefined };
}

/** server.is_loopback without DNS: loopback IP literals, and "localhost" (getaddrinfo gives 127.0.0.1 and ::1). */
function isLoopback(hostname: string | undefined): boolean {
  if (!hostname) return false;
  if (isIP(hostname) === 4) return hostname.startsWith('127.');
  if (isIP(hostname) === 6) return hostname === '::1';
  return hostname === 'localhost';
}

/**
 * server.create_origin_only_middleware (on unless --enable-cors-header): a request whose Host is a
 * loopback address and whose Origin names another host is answered 403 before any route sees it,
 * /ws included, so a web page cannot queue prompts on a local ComfyUI. Ports are compared only when
 * both headers carry one. Server-side clients send no Origin and pass.
 */
export function refusedForOrigin(headers: IncomingHttpHeaders): boolean {
  const { host, origin } = headers;
  if (host === undefined || origin === undefined) return false;
  // urlparse: only text after "scheme://" (or a bare "//") has a netloc; "null" has none.
  const originNetloc = /^(?:[a-z][a-z0-9+.-]*:)?\/\/([^/?#]*)/i.exec(origin)?.[1] ?? '';
  const hostParts = splitNetloc(host);
  const originParts = splitNetloc(originNetloc);
  const hostDomain = originParts.port === undefined ? hostParts.hostname : host.toLowerCase();
  const originDomain = hostParts.port === undefined ? originParts.hostname : originNetloc.toLowerCase();
  return isLoopback(hostParts.hostname) && !!hostDomain && !!originDomain && hostDomain !== originDomain;
}

/**
 * server.create_origin_only_middleware as a whole, ahead of every route: the 403 above, then any
 * OPTIONS request (a CORS preflight) answered `web.Response()` — 200, no body — whatever its path,
 * since aiohttp runs the middlewares even when no route matches. It sits outside the middleware that
 * adds the Content-Security-Policy, so that answer carries none. Returns true when it answered.
 */
export function originOnlyMiddleware(req: IncomingMessage, res: ServerResponse, emptyBodyContentType: string | undefined): boolean {
  if (refusedForOrigin(req.headers)) {
    setServerHeader(res);
    sendEmpty(res, 403, emptyBodyContentType);
    return true;
  }
  if (req.method === 'OPTIONS') {
    setServerHeader(res);
    sendEmpty(res, 200, emptyBodyContentType);
    return true;
  }
  return false;
}
