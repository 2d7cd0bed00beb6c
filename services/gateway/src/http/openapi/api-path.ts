import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { apiErrorSchema } from '@anime/contracts';
import { requiredScopes } from '../auth/route-scopes';

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
  body?: { schema: z.ZodType; contentType?: 'application/json' | 'multipart/form-data' };
  /**
   * Success answers by status: a JSON schema, or a media type for files. Their headers: a description
   * (a string value), or a ResponseHeader. A JSON answer's weak ETag is declared by registerRoute.
   */
  responses: Record<number, { description: string; schema?: z.ZodType; media?: string; headers?: Record<string, string | ResponseHeader> }>;
  /** The error answers this route can give (the shared Error body). */
  errors?: number[];
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

/** A GET answered from the client's copy: If-None-Match named the current body's ETag. */
const NOT_MODIFIED_BODY = { description: 'not modified: If-None-Match names the ETag of the current body (no body)', headers: { ETag: HEADERS.bodyETag } };

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
  429: 'rate_limited or queue_full (Retry-After says when to try again)',
  503: 'database_unavailable (Retry-After)',
};

/** `/a/:id/b` → `/a/{id}/b`. */
export const toOpenApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function registerRoute(registry: OpenAPIRegistry, route: ApiRoute): void {
  // Any route may refuse its input (a bad query parameter or path segment) or find PostgreSQL away.
  // The scopes come from the table the gateway enforces, so the document cannot promise other ones.
  const scopes = route.open ? [] : requiredScopes(route.method.toUpperCase(), route.path, {});
  const authErrors = route.open ? [] : [401, 403, 404, 429];
  // A body may be too large, too slow to arrive, or not of the type the route reads.
  const bodyErrors = route.body ? [408, 413, 415] : [];
  const errorStatuses = [...new Set([400, ...(route.errors ?? []), ...authErrors, ...bodyErrors, 503])].sort();
  const responses: RouteConfig['responses'] = {};
  for (const [status, answer] of Object.entries(route.responses)) {
    // res.json gives every JSON answer a weak ETag (a download sets its own and declares it).
    const headers = { ...(answer.schema ? { ETag: HEADERS.bodyETag } : {}), ...declaredHeaders(answer.headers) };
    responses[Number(status)] = {
      description: answer.description,
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(answer.schema ? { content: { 'application/json': { schema: answer.schema } } } : {}),
      ...(answer.media ? { content: { [answer.media]: { schema: { type: 'string', format: 'binary' } } } } : {}),
    };
  }
  // Express answers a GET 304 when If-None-Match names the ETag of the JSON it would send.
  if (route.method === 'get' && route.responses[200]?.schema && !route.responses[304]) responses[304] = NOT_MODIFIED_BODY;
  // A route's own answer for a status (/readyz's 503) is not replaced by the shared one.
  for (const status of errorStatuses.filter((s) => !route.responses[s])) {
    const headers = { ETag: HEADERS.errorETag, ...(status === 429 || status === 503 ? { 'Retry-After': HEADERS.retryAfter } : {}), ...route.errorHeaders?.[status] };
    responses[status] = { description: ERROR_TEXT[status] ?? 'error', headers, content: { 'application/json': { schema: apiErrorSchema } } };
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
