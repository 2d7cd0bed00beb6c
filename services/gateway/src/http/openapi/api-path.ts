import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { apiErrorSchema } from '@anime/contracts';
import { BEARER_CHALLENGE } from '../auth/authenticate';
import { requiredScopes } from '../auth/route-scopes';
import { RATE_LIMIT_POLICIES } from '../limits/rate-limit-headers';
import { REQUEST_ID_PATTERN } from '../request-id';

type Method = RouteConfig['method'];

/** What each documented route declares: one entry per method and path. */
export interface ApiRoute {
  method: Method;
  /** The Express path (`/api/v1/generations/:id`). */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Served without a key (probes, this document); every other route needs one, with the scopes auth/route-scopes.ts names. */
  open?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Request headers the route reads besides Authorization (by their names). */
  headers?: z.ZodObject;
  body?: { schema: z.ZodType; contentType?: 'application/json' | 'multipart/form-data' };
  /**
   * Success answers by status: a JSON schema, or a media type for files. Their headers: a description
   * (a string value), or a ResponseHeader. A JSON answer's weak ETag is declared by registerRoute.
   */
  responses: Record<number, { description: string; schema?: z.ZodType; media?: string; headers?: Record<string, string | ResponseHeader> }>;
  /** The error answers this route can give (the shared Error body). */
  errors?: number[];
  /** What this route's error answers may be besides the shared text of their status (a code only it answers, its details). */
  errorNotes?: Partial<Record<number, string>>;
  /** Headers some of this route's error answers carry besides the ones every route's do (ETag; Retry-After on 429 and 503). */
  errorHeaders?: Partial<Record<number, Record<string, ResponseHeader>>>;
}

/** A response header: what it says, and the JSON Schema of its value. */
export interface ResponseHeader {
  description: string;
  schema: { type: 'string' | 'integer'; minimum?: number; enum?: string[]; pattern?: string; examples?: unknown[] };
}

/** The response headers the gateway sends, as the document declares them. */
export const HEADERS = {
  /** Express computes it from every body sent with res.json or res.send (a download sets its own). */
  bodyETag: {
    description: 'a weak validator of this body (`W/"…"`), computed from its bytes: a GET sending it back as If-None-Match is answered 304 while the body is the same',
    schema: { type: 'string', pattern: '^W/".*"$' },
  },
  /** The same on an error: Express computes it for any body, but never answers an error 304. */
  errorETag: { description: 'a weak validator of this body (`W/"…"`), computed from its bytes (an error is never answered 304)', schema: { type: 'string', pattern: '^W/".*"$' } },
  fileETag: {
    description: "the file's sha256, quoted: a strong validator, for If-None-Match, If-Match and If-Range",
    schema: { type: 'string', pattern: '^"[0-9a-f]{64}"$' },
  },
  lastModified: {
    description: "when the library's copy of the file was last written (an HTTP date), for If-Modified-Since and If-Unmodified-Since",
    schema: { type: 'string', examples: ['Wed, 21 Oct 2026 07:28:00 GMT'] },
  },
  acceptRanges: { description: '`bytes`: a Range request may ask for part of the file', schema: { type: 'string', enum: ['bytes'] } },
  contentRange: { description: 'the bytes sent and the size of the whole file: `bytes <first>-<last>/<size>`', schema: { type: 'string', pattern: '^bytes \\d+-\\d+/\\d+$' } },
  unsatisfiedRange: { description: 'the size of the whole file, which the Range lies outside of: `bytes */<size>`', schema: { type: 'string', pattern: '^bytes \\*/\\d+$' } },
  fileCacheControl: { description: 'a file never changes under its URL: `private, max-age=31536000, immutable`', schema: { type: 'string' } },
  retryAfter: { description: 'whole seconds to wait before trying again (at least 1)', schema: { type: 'integer', minimum: 1 } },
  attachment: (what: string): ResponseHeader => ({ description: `attachment, with ${what}`, schema: { type: 'string', pattern: '^attachment' } }),
} satisfies Record<string, ResponseHeader | ((what: string) => ResponseHeader)>;

const policy = `"(?:${RATE_LIMIT_POLICIES.join('|')})"`;
/** `<item>` once, or several separated by `, `. */
const list = (item: string) => `^${item}(?:, ${item})*$`;

/**
 * Headers sent on (nearly) every answer: each is declared once, in components/headers, and every
 * answer that may carry it refers to it (registerRoute).
 */
export const SHARED_HEADERS = {
  /** request-id.ts, the app's first middleware: every answer, errors and 404s included. */
  'X-Request-Id': {
    description: "the request's id, in every log line of it: the `X-Request-Id` the request sent if it was 1 to 100 letters, digits, `_`, `.` or `-`, else a new UUID",
    schema: { type: 'string', pattern: REQUEST_ID_PATTERN.source },
  },
  /** auth/authenticate.ts, on its 401. */
  'WWW-Authenticate': { description: 'how to authenticate: an API key as a bearer token', schema: { type: 'string', enum: [BEARER_CHALLENGE] } },
  // limits/rate-limit-headers.ts: the /api request limiter adds them to every answer once the key is known.
  'RateLimit-Policy': {
    description: `the limits this request counted against (draft-ietf-httpapi-ratelimit-headers): \`"requests";q=<requests>;w=<seconds>\`, and on POST /api/v1/generations \`"cost";q=<cost>;w=60\` too`,
    schema: { type: 'string', pattern: list(`${policy};q=\\d+;w=\\d+`) },
  },
  RateLimit: {
    description: 'where the caller stands against each of those limits: `"<policy>";r=<remaining>;t=<seconds until its window restarts>`',
    schema: { type: 'string', pattern: list(`${policy};r=\\d+;t=\\d+`) },
  },
  'RateLimit-Limit': { description: 'the limit of the policy that refused the request, else of the request rate (requests per second)', schema: { type: 'integer', minimum: 1 } },
  'RateLimit-Remaining': { description: 'what that limit has left in its window', schema: { type: 'integer', minimum: 0 } },
  'RateLimit-Reset': { description: 'whole seconds until its window restarts (at least 1)', schema: { type: 'integer', minimum: 1 } },
} satisfies Record<string, ResponseHeader>;

type SharedHeader = keyof typeof SHARED_HEADERS;
const RATE_LIMIT_HEADERS: SharedHeader[] = ['RateLimit-Policy', 'RateLimit', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

/** Declares SHARED_HEADERS once, as components/headers (before the routes refer to them). */
export function registerSharedHeaders(registry: OpenAPIRegistry): void {
  for (const [name, header] of Object.entries(SHARED_HEADERS)) registry.registerComponent('headers', name, header);
}

const refsTo = (names: SharedHeader[]) => Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input (validation_failed lists each bad field)',
  408: 'request_timeout: the body did not arrive in time',
  401: 'unauthenticated: no key, or a bad, expired or revoked one',
  403: 'insufficient_scope (details.scope names it)',
  404: 'not found, or outside the key’s projects',
  409: 'the resource is not in a state that allows this',
  410: 'the file is gone from the library',
  412: 'precondition_failed: If-Match or If-Unmodified-Since did not hold',
  413: 'payload_too_large',
  415: 'unsupported_media_type: a JSON body not sent as application/json (or in a charset or encoding the gateway cannot read), or an upload that is not the multipart form or image asked for',
  416: 'range_not_satisfiable: the Range lies outside the file',
  422: 'the request is well formed but cannot be accepted as sent',
  429: 'rate_limited or queue_full (Retry-After says when to try again)',
  503: 'database_unavailable (Retry-After); not_ready (Retry-After) while the gateway starts and waits for Redis, or, on the queue routes, while Redis does not answer',
};

/**
 * The 503 of the routes that write to the library (an upload, an import): error-middleware.ts answers
 * library_unavailable on any route but a GET or HEAD, and only these write files.
 */
export const LIBRARY_UNAVAILABLE_NOTE = 'library_unavailable (Retry-After: 60, details.reason the errno: ENOSPC, EDQUOT, EFBIG, EROFS, EACCES, EPERM, ENOTDIR, EISDIR) when the library volume refuses the write; nothing is stored';

/**
 * The 503 of the download routes: a library file the gateway may not read (error-middleware.ts,
 * library-file-unreadable.ts). The file may be intact: it is not marked missing.
 */
export const LIBRARY_UNREADABLE_NOTE = 'library_unreadable (Retry-After: 60, details.reason the errno: EACCES, EPERM, EIO, ELOOP) when the library file is there but the gateway may not read it (its permissions, the volume); it is not marked missing, and downloads again once an operator fixes it';

/**
 * The 503 of a read that did not answer in time (a hung mount: LibraryNotAnsweringError): the same
 * code as the route's other library 503, details.reason ETIMEDOUT. The bounds are
 * packages/media/src/library-not-answering.ts' (LIBRARY_READ_BASE_MS, libraryReadTimeoutMs).
 */
export const LIBRARY_NOT_ANSWERING_NOTES = {
  upload: 'or details.reason ETIMEDOUT when the file already at the image’s library path does not answer its hash within 5 s plus 1 s per MiB of the image (a hung mount), or a network mount times out the write: nothing is stored',
  download: 'or details.reason ETIMEDOUT when the library does not answer (a hung mount, or a network mount timing the read out): nothing of the file sent within 5 s of starting to send it (after a reference’s look at its file, at most 2 s), or, for a reference marked missing, its read-back not done within 5 s plus 1 s per MiB; nothing is marked missing. A download already streaming whose file then gives no byte for 5 s while the client waits has its connection cut instead (fewer bytes than its Content-Length)',
} as const;

/** `/a/:id/b` → `/a/{id}/b`. */
export const toOpenApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function registerRoute(registry: OpenAPIRegistry, route: ApiRoute): void {
  // Any route may refuse its input (a bad query parameter or path segment) or find PostgreSQL away.
  // The scopes come from the table the gateway enforces, so the document cannot promise other ones.
  const scopes = route.open ? [] : requiredScopes(route.method.toUpperCase(), route.path, {});
  // app.ts rate limits every /api request once its key is known: the open ones (this document) are
  // answered before, /metrics is mounted beside /api and never limited.
  const rateLimited = !route.open && route.path.startsWith('/api/');
  // A key is asked for (401) and its scopes checked (403); an /api route's resource may lie outside
  // the key's projects (404), and its requests are counted (429). /metrics has no resource and no limit.
  const authErrors = route.open ? [] : [401, 403, ...(rateLimited ? [404, 429] : [])];
  // Every answer carries its request id; every answer of a limited route the limits met, but a 401,
  // refused before the key (which is what is counted) was known.
  const sharedHeaders = (status: number) => refsTo(['X-Request-Id', ...(status === 401 ? (['WWW-Authenticate'] as const) : rateLimited ? RATE_LIMIT_HEADERS : [])]);
  // A body may be too large, too slow to arrive, or not of the type the route reads.
  const bodyErrors = route.body ? [408, 413, 415] : [];
  const errorStatuses = [...new Set([400, ...(route.errors ?? []), ...authErrors, ...bodyErrors, 503])].sort();
  const responses: RouteConfig['responses'] = {};
  for (const [status, answer] of Object.entries(route.responses)) {
    // res.json gives every JSON answer a weak ETag (a download sets its own and declares it).
    const headers = { ...(answer.schema ? { ETag: HEADERS.bodyETag } : {}), ...declaredHeaders(answer.headers), ...sharedHeaders(Number(status)) };
    responses[Number(status)] = {
      description: answer.description,
      headers,
      ...(answer.schema ? { content: { 'application/json': { schema: answer.schema } } } : {}),
      ...(answer.media ? { content: { [answer.media]: { schema: { type: 'string', format: 'binary' } } } } : {}),
    };
  }
  // Express answers a GET 304 when If-None-Match names the ETag of the JSON it would send.
  if (route.method === 'get' && route.responses[200]?.schema && !route.responses[304]) {
    responses[304] = { description: 'not modified: If-None-Match names the ETag of the current body (no body)', headers: { ETag: HEADERS.bodyETag, ...sharedHeaders(304) } };
  }
  // A route's own answer for a status (/readyz's 503) is not replaced by the shared one.
  for (const status of errorStatuses.filter((s) => !route.responses[s])) {
    const headers = { ETag: HEADERS.errorETag, ...(status === 429 || status === 503 ? { 'Retry-After': HEADERS.retryAfter } : {}), ...route.errorHeaders?.[status], ...sharedHeaders(status) };
    const description = [ERROR_TEXT[status] ?? 'error', route.errorNotes?.[status]].filter(Boolean).join('; ');
    responses[status] = { description, headers, content: { 'application/json': { schema: apiErrorSchema } } };
  }
  registry.registerPath({
    method: route.method,
    path: toOpenApiPath(route.path),
    summary: route.summary,
    description: [route.description, scopes.length ? `Requires an API key with the ${scopes.map((s) => `\`${s}\``).join(' and ')} scope (\`admin\` implies every scope).` : undefined].filter(Boolean).join('\n\n') || undefined,
    tags: route.tags,
    ...(route.open ? {} : { security: [{ bearerAuth: scopes }] }),
    request: {
      ...(route.params ? { params: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
      ...(route.headers ? { headers: route.headers } : {}),
      ...(route.body ? { body: { required: true, content: { [route.body.contentType ?? 'application/json']: { schema: route.body.schema } } } } : {}),
    },
    responses,
  });
}

function declaredHeaders(headers: Record<string, string | ResponseHeader> = {}): Record<string, ResponseHeader> {
  return Object.fromEntries(Object.entries(headers).map(([name, header]) => [name, typeof header === 'string' ? { description: header, schema: { type: 'string' } } : header]));
}

/** A multipart file part, as OpenAPI describes uploads. */
export const filePart = z.string().meta({ format: 'binary', description: 'the file' });
