import type { Request, RequestHandler } from 'express';
import { httpRequestDuration } from '@anime/pipeline';
import type { Logger } from '@anime/logger';
import type { Caller } from './auth/caller';

/** The label of a request no route answered (a 404, a refusal before routing, a static file): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Remembers the route pattern the moment the router matches it: by the time the response ends,
 * an error that left the sub-router has put `req.baseUrl` back to its parent's. A router mounted
 * under a parameter (`/:idOrSlug/versions`) leaves the concrete value in `req.baseUrl`, so every
 * parameter the routers set on the way (each sets `req.params`) is recorded and its value put
 * back as `:name`: the label is the pattern, never the URL.
 */
function captureRoutePattern(req: Request): () => string {
  let pattern: string | undefined;
  let route: unknown;
  let params: unknown = req.params;
  const names = new Map<string, string>();
  Object.defineProperty(req, 'params', {
    configurable: true,
    enumerable: true,
    get: () => params,
    set: (value: Record<string, unknown> | undefined) => {
      params = value;
      for (const [name, given] of Object.entries(value ?? {})) if (typeof given === 'string') names.set(given, name);
    },
  });
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: { path?: unknown } | undefined) => {
      route = value;
      if (value && typeof value.path === 'string') pattern = joinPattern(baseAsPattern(req.baseUrl, names), value.path);
    },
  });
  return () => pattern ?? UNMATCHED_ROUTE;
}

function baseAsPattern(baseUrl: string, names: Map<string, string>): string {
  return baseUrl
    .split('/')
    .map((segment) => {
      const name = names.get(safeDecode(segment));
      return name ? `:${name}` : segment;
    })
    .join('/');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A mounted router's `/` route is its mount path itself: `/api/v1/generations`, not `/api/v1/generations/`. */
function joinPattern(base: string, path: string): string {
  if (!base) return path;
  return path === '/' ? base : `${base}${path}`;
}

/**
 * For every request, once its answer is sent: one access-log line (method, route pattern, status,
 * duration, request id, the key's name, never the key) and an observation of
 * anime_http_request_duration_seconds by route pattern and status.
 */
export function observeRequests(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const routeOf = captureRoutePattern(req);
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf();
      const status = res.statusCode;
      httpRequestDuration.observe({ method: req.method, route, status: String(status) }, seconds);
      log.info('request', {
        type: 'access',
        method: req.method,
        route,
        status,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        requestId: res.locals.requestId as string | undefined,
        keyName: (res.locals.caller as Caller | undefined)?.name ?? null,
      });
    });
    next();
  };
}
