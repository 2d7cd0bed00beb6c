import { z } from 'zod';
import { storableText } from './safe-text';
import { JOB_STATUSES } from './resources';
import { MAX_WEBHOOKS_PER_KEY } from './webhooks';
import { workflowSlugSchema } from './workflow-template';

// Query parameters of the REST list routes, declared once: the routes parse with them and the
// OpenAPI document describes them.

/** The most items one page of a list route holds (`limit`); clients such as the CLI check it before asking. */
export const MAX_PAGE_LIMIT = 200;

const DIGITS = /^[0-9]+$/;

/**
 * A whole number given once in digits (`limit=20`). `z.coerce.number()` would read `1e2`, `0x10`
 * and ` 5` as numbers and a repeated parameter (an array) as NaN.
 */
const queryInteger = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && DIGITS.test(value) ? Number(value) : value),
    z.number({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a whole number written in digits, given once' : undefined) }).int().min(min).max(max),
  );

const pageLimit = () => queryInteger(1, MAX_PAGE_LIMIT).default(50);

export const generationListQuerySchema = z.object({
  status: z.enum(JOB_STATUSES).optional(),
  project: storableText().max(64).optional(),
  character: storableText().max(200).optional().describe('slug or id'),
  source: storableText().max(64).optional().describe('the producing system'),
  requestId: storableText().max(200).optional().describe("the producer's idempotency key"),
  limit: pageLimit(),
  cursor: z.uuid().optional().describe('nextCursor of the previous page'),
});

/** `GET /api/v1/assets`: every filter exact; a key limited to projects sees only theirs. */
export const assetListQuerySchema = z.object({
  project: storableText().max(64).optional(),
  episode: storableText().max(64).optional(),
  scene: storableText().max(64).optional(),
  shot: storableText().max(64).optional(),
  character: storableText().max(200).optional().describe('slug or id'),
  version: queryInteger(1, 999_999_999).optional().describe("the character version's number"),
  limit: pageLimit(),
  cursor: z.uuid().optional().describe('nextCursor of the previous page'),
});

export const characterListQuerySchema = z.object({
  q: storableText().max(200).optional().describe('part of a name or slug'),
  limit: pageLimit(),
  cursor: z.uuid().optional().describe('nextCursor of the previous page'),
  archived: z.enum(['true', 'false']).default('false').transform((v) => v === 'true').describe('include archived characters'),
});

/**
 * A list of versions, oldest first, paged like the other lists: a character's
 * (`GET /api/v1/characters/:idOrSlug/versions`) and a workflow template's
 * (`GET /api/v1/workflows/:slug/versions`). The cursor is a version number (the last of the previous
 * page: `nextCursor`), not an id: versions are keyed by their number within their owner, and a
 * number past the last is past the end (an empty page).
 */
export const versionListQuerySchema = z.object({
  limit: pageLimit(),
  cursor: queryInteger(1, 999_999_999).optional().describe('nextCursor of the previous page: the number of the last version it held'),
});

/** `GET /api/v1/characters/:idOrSlug/versions`: see versionListQuerySchema. */
export const characterVersionListQuerySchema = versionListQuerySchema;

/** `GET /api/v1/workflows/:slug/versions`: see versionListQuerySchema. */
export const workflowVersionListQuerySchema = versionListQuerySchema;

/**
 * `GET /api/v1/workflows`: the built-in templates first, then the registered ones by slug, paged
 * like the other lists. The cursor is the slug of the last template of the previous page
 * (`nextCursor`): templates are keyed by their slug, and a slug past the last is past the end.
 */
export const workflowListQuerySchema = z.object({
  limit: pageLimit(),
  cursor: workflowSlugSchema().optional().describe('nextCursor of the previous page: the slug of the last template it held'),
});

/**
 * `GET /api/v1/webhooks`: oldest first. The default page holds every endpoint one key may have, so
 * only an admin seeing every key's may need a next page.
 */
export const webhookListQuerySchema = z.object({
  limit: queryInteger(1, MAX_PAGE_LIMIT).default(MAX_WEBHOOKS_PER_KEY),
  cursor: z.uuid().optional().describe('nextCursor of the previous page'),
});

/** `GET /api/v1/webhooks/:id/deliveries`: every attempt of the retention (WEBHOOK_LOG_RETENTION_DAYS), newest first, paged like the other lists. */
export const webhookDeliveryListQuerySchema = z.object({
  limit: pageLimit(),
  cursor: z.uuid().optional().describe('nextCursor of the previous page'),
});

/** `POST /api/v1/generations/:id/retry`. */
export const retryGenerationBodySchema = z.object({ seed: z.literal('new').optional().describe('"new": draw a new seed instead of reusing the recorded one') }).strict();
