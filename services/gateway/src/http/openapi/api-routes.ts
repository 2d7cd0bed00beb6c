import { z } from 'zod';
import {
  apiErrorSchema,
  assetListQuerySchema,
  assetResourceSchema,
  backendListSchema,
  backendResourceSchema,
  bundleImportResultSchema,
  characterDetailSchema,
  characterListQuerySchema,
  characterReferenceResourceSchema,
  characterSummarySchema,
  characterVersionListQuerySchema,
  characterVersionResourceSchema,
  createWebhookBodySchema,
  generationListQuerySchema,
  generationRequestBodySchema,
  generationRequestHeadersSchema,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_REUSED,
  IDEMPOTENT_REPLAYED_HEADER,
  JOB_STATUSES,
  generationResourceSchema,
  MAX_WEBHOOKS_PER_KEY,
  queueListSchema,
  queueResourceSchema,
  registerWorkflowBodySchema,
  retryGenerationBodySchema,
  schemaListSchema,
  versionDiffSchema,
  webhookCreatedSchema,
  webhookDeliveryListQuerySchema,
  webhookListQuerySchema,
  webhookDeliverySchema,
  webhookResourceSchema,
  workflowDetailSchema,
  workflowListItemSchema,
  workflowListQuerySchema,
  workflowRegisteredSchema,
  workflowVersionListQuerySchema,
  workflowVersionResourceSchema,
} from '@anime/contracts';
import { createCharacterBodySchema, referenceFieldsSchema, versionBodySchema, versionPatchBodySchema } from '../character-bodies';
import { filePart, HEADERS, LIBRARY_NOT_ANSWERING_NOTES, LIBRARY_UNAVAILABLE_NOTE, LIBRARY_UNREADABLE_NOTE, type ApiRoute, type ResponseHeader } from './api-path';

// Every route of the gateway, as the OpenAPI document describes it. A test checks that this table
// and the routes Express serves are the same set, and that real answers validate against it.

const id = (description: string) => z.object({ id: z.uuid().describe(description) });
const character = z.object({ idOrSlug: z.string().describe('the character: slug or id') });
const nextCursor = (cursor: z.ZodType) => cursor.nullable().describe('pass as cursor for the next page; null on the last');
const page = <T extends z.ZodType>(item: T, name: string, cursor: z.ZodType = z.uuid()) => z.object({ items: z.array(item), nextCursor: nextCursor(cursor) }).meta({ id: name });
/** A version list's cursor: the number of the last version of the page, as text. */
const versionCursor = () => z.string().regex(/^[1-9][0-9]*$/).describe('a version number');
const items = <T extends z.ZodType>(item: T, name: string) => z.object({ items: z.array(item) }).meta({ id: name });
const ok = (description: string, schema?: z.ZodType) => ({ description, schema });
/** What a download sends with its bytes (Express's sendFile): validators, ranges, caching, the file name. */
const fileHeaders = (name: string): Record<string, ResponseHeader> => ({
  ETag: HEADERS.fileETag,
  'Last-Modified': HEADERS.lastModified,
  'Accept-Ranges': HEADERS.acceptRanges,
  'Cache-Control': HEADERS.fileCacheControl,
  'Content-Disposition': HEADERS.attachment(name),
});
/** A file download's answers: the file, part of it, or the client's copy is current. */
const download = (name: string, media: string) => ({
  200: { description: 'the image', media, headers: fileHeaders(name) },
  206: { description: 'the bytes a Range asked for', media, headers: { ...fileHeaders(name), 'Content-Range': HEADERS.contentRange } },
  304: { description: 'not modified: the copy If-None-Match or If-Modified-Since names is current (no body)', headers: fileHeaders(name) },
});
/** A download's refusals of its conditions: the file's validators were read first, its ranges offered. */
const downloadErrorHeaders = {
  412: { 'Accept-Ranges': HEADERS.acceptRanges },
  416: { 'Accept-Ranges': HEADERS.acceptRanges, 'Content-Range': HEADERS.unsatisfiedRange },
};

const restoredReferencesHeader: ResponseHeader = {
  description: 'how many references the character already had whose library file was gone or altered, written back from the bundle (their missing mark cleared)',
  schema: { type: 'integer', minimum: 0 },
};
const generationAccepted = z
  .object({ id: z.uuid(), status: z.enum(JOB_STATUSES).describe('`queued`; for a repeat of an `Idempotency-Key`, the generation\'s current status') })
  .meta({ id: 'GenerationAccepted' });
const idempotentReplayedHeader: ResponseHeader = {
  description: `\`true\` when the answer gives back the generation an earlier request with the same \`${IDEMPOTENCY_KEY_HEADER}\` made (nothing new was written or queued); absent otherwise`,
  schema: { type: 'string', enum: ['true'] },
};
const health = z.object({ status: z.string(), service: z.string() }).passthrough().meta({ id: 'Health' });

export const API_ROUTES: ApiRoute[] = [
  // Generations
  {
    method: 'post', path: '/api/v1/generations', tags: ['generations'], summary: 'Create a generation of a character',
    description: 'Queues it and answers at once; follow it over Socket.IO (`subscribe { jobId }`) or by polling its Location. `priority: "interactive"` also needs `generate:interactive`. `webhook.url` must be the URL of a webhook endpoint this key registered (else 400 `webhook_not_registered`); the generation\'s terminal event is then delivered there, signed with that endpoint\'s secret. An `Idempotency-Key` header makes the request safe to repeat after a lost answer: the same key again from the same API key with the same body gives back the same generation (`Idempotent-Replayed: true`), not a second one.',
    headers: generationRequestHeadersSchema,
    body: { schema: generationRequestBodySchema },
    responses: { 202: { description: 'queued; or, for a repeat of an `Idempotency-Key`, the generation it made', schema: generationAccepted, headers: { Location: 'the generation', [IDEMPOTENT_REPLAYED_HEADER]: idempotentReplayedHeader } } },
    errors: [400, 404, 409, 422],
    errorNotes: {
      400: `validation_failed naming \`${IDEMPOTENCY_KEY_HEADER}\` when that header is not 1 to 200 characters of UTF-8 text, or is sent twice`,
      422: `${IDEMPOTENCY_KEY_REUSED}: the \`${IDEMPOTENCY_KEY_HEADER}\` was already used by another API key, or with a different request body; nothing is written`,
    },
  },
  {
    method: 'get', path: '/api/v1/generations', tags: ['generations'], summary: 'List generations, newest first',
    description: 'Every filter is exact; `character` is a slug or id, or `slug@N` / `id@N` for the generations made with its version N (another `@` is a 400). `cursor` is the `nextCursor` of the previous page: one that is not an id is a 400; an id naming no generation the key sees is an empty page. A key limited to projects sees only their generations.',
    query: generationListQuerySchema, responses: { 200: ok('a page', page(generationResourceSchema, 'GenerationPage')) }, errors: [400],
  },
  { method: 'get', path: '/api/v1/generations/:id', tags: ['generations'], summary: 'Read a generation', params: id('generation id'), responses: { 200: ok('the generation', generationResourceSchema) }, errors: [400, 404] },
  {
    method: 'post', path: '/api/v1/generations/:id/cancel', tags: ['generations'], summary: 'Cancel a generation',
    description: 'Queued: canceled at once. In a backend: taken off it; the generation ends `canceled` shortly after. Repeating is harmless.',
    params: id('generation id'), responses: { 202: ok('canceled, or cancel requested', generationResourceSchema) }, errors: [400, 404, 409],
  },
  {
    method: 'post', path: '/api/v1/generations/:id/retry', tags: ['generations'], summary: 'Run a failed or canceled generation again',
    params: id('generation id'), body: { schema: retryGenerationBodySchema }, responses: { 202: ok('queued again', generationResourceSchema) }, errors: [400, 404, 409],
  },
  // Assets
  {
    method: 'get', path: '/api/v1/assets', tags: ['assets'], summary: 'List assets, newest first',
    description: 'Every filter is exact; `character` is a slug or id, `version` its version number; `character=slug@N` is `character=slug&version=N` (a `version` naming another number, or another `@`, is a 400). `cursor` is the `nextCursor` of the previous page: one that is not an id is a 400; an id naming no asset the key sees (one removed meanwhile too) is an empty page. A key limited to projects sees only their assets.',
    query: assetListQuerySchema, responses: { 200: ok('a page', page(assetResourceSchema, 'AssetPage')) }, errors: [400],
  },
  { method: 'get', path: '/api/v1/assets/:id', tags: ['assets'], summary: 'Read an asset', params: id('asset id'), responses: { 200: ok('the asset', assetResourceSchema) }, errors: [400, 404] },
  {
    method: 'get', path: '/api/v1/assets/:id/file', tags: ['assets'], summary: "Download an asset's file (exactly ComfyUI's bytes)",
    params: id('asset id'), responses: download('a safe file name', 'image/png'),
    errors: [400, 404, 409, 410, 412, 416], errorHeaders: downloadErrorHeaders,
    errorNotes: { 410: 'asset_file_missing: no file at its library path (or a folder there)', 503: `${LIBRARY_UNREADABLE_NOTE}; ${LIBRARY_NOT_ANSWERING_NOTES.download}` },
  },
  // Characters
  { method: 'get', path: '/api/v1/characters', tags: ['characters'], summary: 'List characters', query: characterListQuerySchema, responses: { 200: ok('a page', page(characterSummarySchema, 'CharacterPage')) }, errors: [400] },
  { method: 'post', path: '/api/v1/characters', tags: ['characters'], summary: 'Create a character and its version 1', body: { schema: createCharacterBodySchema }, responses: { 201: { description: 'created', schema: characterDetailSchema, headers: { Location: 'the character' } } }, errors: [400, 409] },
  { method: 'get', path: '/api/v1/characters/:idOrSlug', tags: ['characters'], summary: 'Read a character', params: character, responses: { 200: ok('the character', characterDetailSchema) }, errors: [404] },
  { method: 'delete', path: '/api/v1/characters/:idOrSlug', tags: ['characters'], summary: 'Archive a character (never deleted)', params: character, responses: { 200: ok('archived', characterDetailSchema) }, errors: [404] },
  {
    method: 'get', path: '/api/v1/characters/:idOrSlug/versions', tags: ['characters'], summary: "List a character's versions, oldest first",
    description: 'Paged like the other lists, by version number: `nextCursor` is the number of the last version of the page (as text), null on the last page.',
    params: character, query: characterVersionListQuerySchema,
    responses: { 200: ok('a page', page(characterVersionResourceSchema, 'CharacterVersionPage', versionCursor())) }, errors: [400, 404],
  },
  {
    method: 'post', path: '/api/v1/characters/:idOrSlug/versions', tags: ['characters'], summary: 'Add a version: a full definition, or a JSON Merge Patch of an earlier version',
    description: 'Either `{ definition, attributes?, note? }`, or `{ basedOn: N, patch: { definition?, attributes? }, note? }`: an RFC 7396 JSON Merge Patch of version N (null deletes a key, arrays are replaced whole), validated as a full definition.',
    params: character, body: { schema: z.union([versionBodySchema, versionPatchBodySchema]) }, responses: { 201: { description: 'the new version', schema: characterVersionResourceSchema, headers: { Location: 'the version' } } }, errors: [400, 404, 409],
  },
  {
    method: 'get', path: '/api/v1/characters/:idOrSlug/versions/:number', tags: ['characters'], summary: 'Read a version',
    params: character.extend({ number: z.string().describe('version number') }), responses: { 200: ok('the version', characterVersionResourceSchema) }, errors: [400, 404],
  },
  {
    method: 'get', path: '/api/v1/characters/:idOrSlug/versions/:from/diff/:to', tags: ['characters'], summary: 'Compare two versions',
    params: character.extend({ from: z.string(), to: z.string() }), responses: { 200: ok('the changes, as JSON pointers', versionDiffSchema) }, errors: [400, 404],
  },
  { method: 'get', path: '/api/v1/characters/:idOrSlug/references', tags: ['characters'], summary: "List a character's reference images", params: character, responses: { 200: ok('the references', items(characterReferenceResourceSchema, 'CharacterReferenceList')) }, errors: [404] },
  {
    method: 'post', path: '/api/v1/characters/:idOrSlug/references', tags: ['characters'], summary: 'Upload a reference image (PNG, JPEG or WebP)',
    params: character, body: { schema: referenceFieldsSchema.extend({ file: filePart }), contentType: 'multipart/form-data' },
    responses: {
      201: { description: 'stored', schema: characterReferenceResourceSchema, headers: { Location: 'its file' } },
      200: { description: 'the same image was already attached', schema: characterReferenceResourceSchema, headers: { Location: 'its file' } },
    },
    errors: [400, 404, 409, 413, 415],
    errorNotes: { 503: `${LIBRARY_UNAVAILABLE_NOTE}; ${LIBRARY_NOT_ANSWERING_NOTES.upload}` },
  },
  {
    method: 'get', path: '/api/v1/characters/:idOrSlug/references/:refId/file', tags: ['characters'], summary: "Download a reference image",
    params: character.extend({ refId: z.uuid() }), responses: download('the label as its file name', 'image/*'), errors: [404, 409, 410, 412, 416], errorHeaders: downloadErrorHeaders,
    errorNotes: { 503: `${LIBRARY_UNREADABLE_NOTE}; ${LIBRARY_NOT_ANSWERING_NOTES.download}` },
  },
  { method: 'delete', path: '/api/v1/characters/:idOrSlug/references/:refId', tags: ['characters'], summary: 'Detach a reference image', params: character.extend({ refId: z.uuid() }), responses: { 204: { description: 'detached' } }, errors: [404, 409] },
  {
    method: 'get', path: '/api/v1/characters/:idOrSlug/export', tags: ['characters'], summary: 'Export a character as a bundle (zip)', params: character,
    responses: {
      200: {
        description: 'the bundle. Each image is checked again against its recorded size and sha256 as it streams: one that changes in the library meanwhile cuts the connection before the zip ends (the 200 already sent, what arrived does not parse as a zip); the next export answers 409 bundle_incomplete for it. An image whose library read gives no byte for 5 s while the zip waits for it (a hung mount) cuts the connection the same way',
        media: 'application/zip',
        headers: {
          'Content-Disposition': HEADERS.attachment('`<slug>.zip` as the file name'),
          'X-Bundle-Omitted-References': { description: 'how many of its reference images the bundle leaves out: their files are missing from the library, or of a type bundles do not carry', schema: { type: 'integer', minimum: 0 } },
        },
      },
    },
    errors: [404, 409],
    errorNotes: {
      409: 'bundle_incomplete: the library files of references the bundle carries are gone, altered or unreadable; details.references lists each ([{ id, label, sha256, reason: "gone" | "altered" | "unreadable" }]), details.referenceId the first, and the gone or altered ones are marked missing. bundle_too_large: its versions take more than 16 MiB as character.json',
    },
  },
  {
    method: 'post', path: '/api/v1/characters/import', tags: ['characters'], summary: 'Import a character bundle',
    query: z.object({ as: z.string().optional().describe('import under this slug') }), body: { schema: z.object({ file: filePart }), contentType: 'multipart/form-data' },
    responses: {
      201: { description: 'imported', schema: bundleImportResultSchema, headers: { Location: 'the character', 'X-Bundle-Restored-References': restoredReferencesHeader } },
      200: { description: 'nothing new', schema: bundleImportResultSchema, headers: { Location: 'the character', 'X-Bundle-Restored-References': restoredReferencesHeader } },
    },
    errors: [400, 409, 413, 415],
    errorNotes: { 503: `${LIBRARY_UNAVAILABLE_NOTE}; or details.reason ETIMEDOUT when a library file of a reference the character already has does not answer its hash within 5 s plus 1 s per MiB (a hung mount): the import is not recorded` },
  },
  // Workflow templates
  { method: 'post', path: '/api/v1/workflows', tags: ['workflows'], summary: 'Register a workflow template (a new version when the slug exists)', body: { schema: registerWorkflowBodySchema }, responses: { 201: { description: 'registered', schema: workflowRegisteredSchema, headers: { Location: 'the new version' } } }, errors: [400] },
  {
    method: 'get', path: '/api/v1/workflows', tags: ['workflows'], summary: 'List workflow templates: the built-in first, then the registered ones by slug',
    description: 'Paged like the other lists, by slug: `nextCursor` is the slug of the last template of the page, null on the last page.',
    query: workflowListQuerySchema,
    responses: { 200: ok('a page', page(workflowListItemSchema, 'WorkflowPage', z.string().describe('a slug'))) }, errors: [400],
  },
  { method: 'get', path: '/api/v1/workflows/:slug', tags: ['workflows'], summary: 'Read a workflow template', params: z.object({ slug: z.string() }), responses: { 200: ok('the template', workflowDetailSchema) }, errors: [404] },
  {
    method: 'get', path: '/api/v1/workflows/:slug/versions', tags: ['workflows'], summary: "List a template's versions, oldest first",
    description: 'Paged like the other lists, by version number: `nextCursor` is the number of the last version of the page (as text), null on the last page.',
    params: z.object({ slug: z.string() }), query: workflowVersionListQuerySchema,
    responses: { 200: ok('a page', page(workflowVersionResourceSchema, 'WorkflowVersionPage', versionCursor())) }, errors: [400, 404],
  },
  { method: 'get', path: '/api/v1/workflows/:slug/versions/:number', tags: ['workflows'], summary: 'Read a template version', params: z.object({ slug: z.string(), number: z.string() }), responses: { 200: ok('the version', workflowVersionResourceSchema) }, errors: [400, 404] },
  // Operations
  { method: 'get', path: '/api/v1/backends', tags: ['operations'], summary: 'List the ComfyUI backends', responses: { 200: ok('the pool', backendListSchema) } },
  { method: 'post', path: '/api/v1/backends/:id/drain', tags: ['operations'], summary: 'Drain a backend: no new job, it finishes what it holds', params: z.object({ id: z.string() }), responses: { 200: ok('the backend', backendResourceSchema) }, errors: [404] },
  { method: 'post', path: '/api/v1/backends/:id/undrain', tags: ['operations'], summary: 'Take a backend back into routing', params: z.object({ id: z.string() }), responses: { 200: ok('the backend', backendResourceSchema) }, errors: [404] },
  { method: 'get', path: '/api/v1/queues', tags: ['operations'], summary: 'List the pipeline queues and their counts', responses: { 200: ok('the queues', queueListSchema) } },
  { method: 'post', path: '/api/v1/queues/:name/pause', tags: ['operations'], summary: 'Pause a queue', params: z.object({ name: z.string() }), responses: { 200: ok('the queue', queueResourceSchema) }, errors: [404] },
  { method: 'post', path: '/api/v1/queues/:name/resume', tags: ['operations'], summary: 'Resume a queue', params: z.object({ name: z.string() }), responses: { 200: ok('the queue', queueResourceSchema) }, errors: [404] },
  { method: 'get', path: '/api/v1/schemas', tags: ['schemas'], summary: 'List the published JSON Schemas', responses: { 200: ok('the schemas', schemaListSchema) } },
  { method: 'get', path: '/api/v1/schemas/:name', tags: ['schemas'], summary: 'A JSON Schema (generation-request: the queue payload)', params: z.object({ name: z.string() }), responses: { 200: ok('the JSON Schema', z.record(z.string(), z.unknown())) }, errors: [404] },
  // Webhooks
  {
    method: 'post', path: '/api/v1/webhooks', tags: ['webhooks'], summary: 'Register a webhook endpoint',
    description: `Answers its signing \`secret\` this once. It hears of the events it names for generations of the registering key's projects, signed as Standard Webhooks. Private, loopback and link-local targets are refused unless WEBHOOK_ALLOW lists them. A key holds at most ${MAX_WEBHOOKS_PER_KEY} endpoints (409 \`too_many_webhooks\`; delete one first).`,
    body: { schema: createWebhookBodySchema }, responses: { 201: { description: 'registered', schema: webhookCreatedSchema, headers: { Location: 'the endpoint' } } }, errors: [400, 409],
  },
  {
    method: 'get', path: '/api/v1/webhooks', tags: ['webhooks'], summary: "List the key's webhook endpoints (no secrets), oldest first",
    query: webhookListQuerySchema, responses: { 200: ok('a page of endpoints', page(webhookResourceSchema, 'WebhookPage')) }, errors: [400],
  },
  { method: 'get', path: '/api/v1/webhooks/:id', tags: ['webhooks'], summary: 'Read a webhook endpoint (no secret)', params: id('webhook id'), responses: { 200: ok('the endpoint', webhookResourceSchema) }, errors: [400, 404] },
  { method: 'delete', path: '/api/v1/webhooks/:id', tags: ['webhooks'], summary: 'Delete a webhook endpoint (its delivery log stays)', params: id('webhook id'), responses: { 204: { description: 'deleted' } }, errors: [400, 404] },
  {
    method: 'get', path: '/api/v1/webhooks/:id/deliveries', tags: ['webhooks'], summary: 'The delivery attempts to an endpoint of the last WEBHOOK_LOG_RETENTION_DAYS days (30), newest first',
    params: id('webhook id'), query: webhookDeliveryListQuerySchema, responses: { 200: ok('a page of attempts', page(webhookDeliverySchema, 'WebhookDeliveryPage')) }, errors: [400, 404],
  },
  // Probes and this document
  { method: 'get', path: '/healthz', tags: ['probes'], open: true, summary: 'Liveness', responses: { 200: ok('alive', health) } },
  {
    method: 'get', path: '/readyz', tags: ['probes'], open: true, summary: 'Readiness: PostgreSQL and Redis answer',
    responses: {
      200: ok('ready', health),
      503: { description: 'not ready, and which dependency; or database_unavailable (with Retry-After) when PostgreSQL is away', schema: z.union([health, apiErrorSchema]), headers: { 'Retry-After': HEADERS.retryAfter } },
    },
  },
  {
    method: 'get', path: '/metrics', tags: ['probes'], summary: 'Prometheus metrics of the gateway (admin key)',
    responses: { 200: { description: 'Prometheus text exposition format', media: 'text/plain', headers: { ETag: HEADERS.bodyETag } }, 304: { description: 'not modified: If-None-Match names the ETag of the current metrics (no body)', headers: { ETag: HEADERS.bodyETag } } },
  },
  { method: 'get', path: '/api/openapi.json', tags: ['probes'], open: true, summary: 'This document (OpenAPI 3.1)', responses: { 200: ok('the document', z.record(z.string(), z.unknown())) } },
];
