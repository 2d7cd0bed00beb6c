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
  /** Success answers by status: a JSON schema, or a media type for files. */
  responses: Record<number, { description: string; schema?: z.ZodType; media?: string; headers?: Record<string, string> }>;
  /** The error answers this route can give (the shared Error body). */
  errors?: number[];
}

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
    responses[Number(status)] = {
      description: answer.description,
      ...(answer.headers ? { headers: Object.fromEntries(Object.entries(answer.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) } : {}),
      ...(answer.schema ? { content: { 'application/json': { schema: answer.schema } } } : {}),
      ...(answer.media ? { content: { [answer.media]: { schema: { type: 'string', format: 'binary' } } } } : {}),
    };
  }
  for (const status of errorStatuses) responses[status] = { description: ERROR_TEXT[status] ?? 'error', content: { 'application/json': { schema: apiErrorSchema } } };
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

/** A multipart file part, as OpenAPI describes uploads. */
export const filePart = z.string().meta({ format: 'binary', description: 'the file' });
