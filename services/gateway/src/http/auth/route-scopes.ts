import type { ApiScope } from '@anime/contracts';

/**
 * The scope each route needs, in one place. Every GET needs `read` (bundle export included); a
 * write needs what its row says, matched first to last; a write no row names needs `admin`, so a
 * route added later is closed until someone decides otherwise.
 */
interface RouteScope {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  scopes: (body: unknown) => ApiScope[];
}

const just = (scope: ApiScope) => () => [scope];

const WRITES: RouteScope[] = [
  // An interactive generation jumps the queue: it needs its own scope on top of `generate`.
  { method: 'POST', path: '/api/v1/generations', scopes: (body) => ((body as { priority?: unknown } | undefined)?.priority === 'interactive' ? ['generate', 'generate:interactive'] : ['generate']) },
  { method: 'POST', path: '/api/v1/generations/:id/cancel', scopes: just('generate') },
  { method: 'POST', path: '/api/v1/generations/:id/retry', scopes: just('generate') },
  { method: 'POST', path: '/api/v1/characters', scopes: just('characters:write') },
  { method: 'POST', path: '/api/v1/characters/import', scopes: just('characters:write') },
  { method: 'DELETE', path: '/api/v1/characters/:idOrSlug', scopes: just('characters:write') },
  { method: 'POST', path: '/api/v1/characters/:idOrSlug/versions', scopes: just('characters:write') },
  { method: 'POST', path: '/api/v1/characters/:idOrSlug/references', scopes: just('characters:write') },
  { method: 'DELETE', path: '/api/v1/characters/:idOrSlug/references/:refId', scopes: just('characters:write') },
  // A key that may make generations may ask to be told how they end (its endpoints reach its projects only).
  { method: 'POST', path: '/api/v1/webhooks', scopes: just('generate') },
  { method: 'DELETE', path: '/api/v1/webhooks/:id', scopes: just('generate') },
  { method: 'POST', path: '/api/v1/workflows', scopes: just('admin') },
  { method: 'POST', path: '/api/v1/backends/:id/drain', scopes: just('admin') },
  { method: 'POST', path: '/api/v1/backends/:id/undrain', scopes: just('admin') },
  { method: 'POST', path: '/api/v1/queues/:name/pause', scopes: just('admin') },
  { method: 'POST', path: '/api/v1/queues/:name/resume', scopes: just('admin') },
];

// Matched against the lower-cased path, without its trailing slash (see requiredScopes).
const compiled = WRITES.map((route) => ({ ...route, pattern: new RegExp(`^${route.path.replace(/:[A-Za-z]+/g, '[^/]+')}$`) }));

// Reads of the whole system's state, beyond any one project: Prometheus text.
const ADMIN_READS = new Set(['/metrics']);

/**
 * The scopes a request needs (all of them). Express routes a path in any letter case and with a
 * trailing slash, so the path is matched the same way: `/METRICS` or `/metrics/` is `/metrics`.
 */
export function requiredScopes(method: string, rawPath: string, body: unknown): ApiScope[] {
  const path = rawPath.toLowerCase().replace(/\/+$/, '');
  if (ADMIN_READS.has(path)) return ['admin'];
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return ['read'];
  const route = compiled.find((r) => r.method === method && r.pattern.test(path));
  return route ? route.scopes(body) : ['admin'];
}
