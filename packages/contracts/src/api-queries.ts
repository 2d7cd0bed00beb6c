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

/** The largest character version number a list filter takes (`version=`, `character=slug@N`). */
const MAX_FILTER_VERSION = 999_999_999;

/**
 * A list's `character`: a slug or id, alone or with `@N` for version N, the form a generation names
 * its character in (`"character": "kai@2"`). Slugs and ids hold no `@`, so any other `@` is a mistake
 * (`kai@latest`, `kai@0`), refused rather than read as a slug no character has (an empty page).
 */
const characterFilter = () =>
  storableText()
    .max(200)
    .regex(/^(?:[^@]+(?:@[1-9][0-9]{0,8})?)?$/, 'must be a slug or id, or slug@N / id@N for version N (a whole number from 1, in digits)');

/** A list's `character` (as characterFilter checked it): the slug or id, and the version after `@` if any. */
export function parseCharacterFilter(character: string): { idOrSlug: string; version?: number } {
  const at = character.lastIndexOf('@');
  return at < 0 ? { idOrSlug: character } : { idOrSlug: character.slice(0, at), version: Number(character.slice(at + 1)) };
}

export const generationListQuerySchema = z.object({
  status: z.enum(JOB_STATUSES).optional(),
  project: storableText().max(64).optional(),
  character: characterFilter().optional().describe('slug or id; `slug@N` or `id@N`: made with version N'),
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
  character: characterFilter().optional().describe('slug or id; `slug@N` or `id@N`: of version N, as `version=N`'),
  version: queryInteger(1, MAX_FILTER_VERSION).optional().describe("the character version's number"),
  limit: pageLimit(),
  cursor: z.uuid().optional().describe('nextCursor of the previous page'),
}).superRefine((query, context) => {
  const pinned = query.character ? parseCharacterFilter(query.character).version : undefined;
  if (pinned !== undefined && query.version !== undefined && pinned !== query.version) {
    context.addIssue({ code: 'custom', path: ['version'], message: `character ${query.character} names version ${pinned}: give the version once, in character or in version` });
  }
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
