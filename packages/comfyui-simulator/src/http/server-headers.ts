import type { ServerResponse } from 'node:http';

/**
 * Headers every captured answer of the real server carries (e.g. 10_probe_view_response_meta.json,
 * 01_get_system_stats.json): aiohttp's Server banner, and the Content-Security-Policy that ComfyUI's
 * block_external_middleware sets on each response a route handler returns.
 */
export const SERVER_BANNER = 'Python/3.11 aiohttp/3.8.4';
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; frame-src 'self'; object-src 'self';";

export function setServerHeader(res: ServerResponse): void {
  res.setHeader('Server', SERVER_BANNER);
}

/** Only answers from a route handler: aiohttp's own 404/405 bypass the middleware's header. */
export function setRouteHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
}

/** An answer made of an exception a handler raised: the middleware that sets the header never got it back. */
export function clearRouteHeaders(res: ServerResponse): void {
  res.removeHeader('Content-Security-Policy');
}
