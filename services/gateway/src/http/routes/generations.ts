import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { characterByIdOrSlug } from '@anime/characters';
import { generationListQuerySchema, generationRequestBodySchema, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, parseCharacterFilter, retryGenerationBodySchema, webhookNotRegistered, type GenerationRequestBody, type JobStatus } from '@anime/contracts';
import { requestWebhookEndpoint } from '@anime/pipeline';
import { readGenerationResource, readGenerationResources } from '../../data/generation-resources';
import { cancelGeneration, type CancelGenerationDeps } from '../../domain/cancel-generation';
import { resolveGenerationRequest, writeGeneration, type CreateGenerationDeps } from '../../domain/create-generation';
import { findKeyedGeneration, replayOf } from '../../domain/idempotent-generation';
import type { Db } from '@anime/db';
import { ApiError, notFound } from '../api-error';
import { characterVersionsNamed } from '../character-versions-named';
import type { GatewayLimits } from '../limits/gateway-limits';
import { answerQueueFull, requireQueueRoom } from '../limits/queue-room';
import { retryWithinRoom } from '../limits/retry-within-room';
import { generationReadWithKey } from './generation-pre-read';
import { projectNotAllowed } from '../auth/auth-errors';
import { callerOf, type Caller } from '../auth/caller';
import { projectScope, reachesProject } from '../auth/project-access';
import { idempotencyKeyOf } from '../idempotency-key';
import { jsonBodyOnly } from '../json-body-only';
import { pageFilter } from '../keyset-page';
import { parseOr400 } from '../parse-body';

const idParam = z.string().uuid('must be a generation id (uuid)');
const listQuery = generationListQuerySchema;

/** 202 with the generation's id, status and Location; a repeat of an Idempotency-Key says it is one. */
function accepted(res: Response, generation: { id: string; status: JobStatus }, replay: boolean): void {
  if (replay) res.setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
  res.status(202).location(`/api/v1/generations/${generation.id}`).json({ id: generation.id, status: generation.status });
}

/** A generation outside the caller's projects answers exactly as one that does not exist. */
async function requireVisible(db: Db, caller: Caller, id: string): Promise<void> {
  if (caller.projects === null) return;
  const job = await db.generationJob.findUnique({ where: { id }, select: { project: true } });
  if (!job || !reachesProject(caller, job.project)) throw notFound(`generation ${id}`);
}

export function generationRoutes(deps: CreateGenerationDeps & CancelGenerationDeps & { limits: GatewayLimits }): Router {
  const router = Router();

  /**
   * A new generation: checked, charged and written (the work before this route took an Idempotency-Key).
   * `existing`: a racing request with the same key wrote its generation first; nothing was written or charged.
   */
  async function newGeneration(req: Request, res: Response, body: GenerationRequestBody, caller: Caller, idempotencyKey: string | undefined) {
    if (body.webhook && !(await requestWebhookEndpoint(deps.db, body.webhook.url, body.project, caller.keyId))) {
      const message = webhookNotRegistered(body.webhook.url);
      throw new ApiError(400, 'webhook_not_registered', message, [{ path: 'webhook.url', message }]);
    }
    // On the bounds this process holds, else read (with the key when there is one: one statement for both).
    await requireQueueRoom(res, deps.db, deps.limits.queueRoom);
    // The cost is charged while the workflow and the character are resolved (two round trips at
    // once); a refused charge answers first, as it would have before resolving, and a failed
    // resolution gives the points back.
    const [charged, resolved] = await Promise.allSettled([deps.limits.chargeGenerationCost(req, res, body), resolveGenerationRequest(deps, body)]);
    if (charged.status === 'rejected') throw charged.reason;
    const charge = charged.value;
    if (resolved.status === 'rejected') {
      await charge.refund();
      throw resolved.reason;
    }
    // Counted again under the key's lock as it is written: a 429 queue_full there writes nothing and gives the points back.
    const written = await writeGeneration(deps, body, resolved.value, res.locals.requestId, caller.keyId, deps.limits.queueCaps.maxQueuedPerKey, idempotencyKey).catch(async (error: unknown) => {
      await charge.refund();
      throw answerQueueFull(res, deps.limits.queueRoom, error);
    });
    if (written.existing) await charge.refund();
    return written;
  }

  /** The generation the request's Idempotency-Key made, as a repeat of that request gets it (replayOf: else 422). */
  async function replayed(body: GenerationRequestBody, caller: Caller, idempotencyKey: string) {
    const earlier = await findKeyedGeneration(deps.db, idempotencyKey);
    return earlier ? replayOf(earlier, caller.keyId, body) : null;
  }

  router.post('/', jsonBodyOnly, async (req, res) => {
    const body = parseOr400(generationRequestBodySchema, req.body ?? {});
    const idempotencyKey = idempotencyKeyOf(req);
    const caller = callerOf(res);
    if (!reachesProject(caller, body.project)) throw projectNotAllowed(body.project);
    // A repeat is answered from the generation its key made before any limit or check a new one
    // pays: nothing written, queued or charged, and no queue_full at the key's cap. No key, no read.
    const repeat = idempotencyKey === undefined ? null : await replayed(body, caller, idempotencyKey);
    if (repeat) return void accepted(res, repeat, true);
    let written: Awaited<ReturnType<typeof newGeneration>>;
    try {
      written = await newGeneration(req, res, body, caller, idempotencyKey);
    } catch (error) {
      // A repeat racing the request that makes the key's generation may be refused the place or the
      // points that request took (429): once that generation is there, it is answered as a repeat.
      if (idempotencyKey === undefined || !(error instanceof ApiError && error.status === 429)) throw error;
      const raced = await replayed(body, caller, idempotencyKey);
      if (!raced) throw error;
      res.removeHeader('Retry-After');
      return void accepted(res, raced, true);
    }
    if (!written.existing) return void accepted(res, written, false);
    // Written by a racing request with the key meanwhile (the unique index decided): the same checks as any repeat.
    const raced = await replayed(body, caller, idempotencyKey!);
    if (!raced) throw new Error(`generation ${written.id} of ${IDEMPOTENCY_KEY_HEADER} was found by the write but not read back`);
    accepted(res, raced, true);
  });

  router.get('/', async (req, res) => {
    const query = parseOr400(listQuery, req.query, 'query');
    // The character is looked up first and the list filtered by its id, which the
    // (characterId, createdAt, id) index serves; filtered through a join on its slug, the list was
    // walked newest first across every character's generations until a page of its own was found.
    // With `@N` (`character=kai@2`, as a generation names it), the generations made with version N:
    // filtered on the version's (characterVersionId, createdAt, id) index, and by the character's id too.
    const character = query.character ? parseCharacterFilter(query.character) : undefined;
    const versions = character?.version === undefined ? null : await characterVersionsNamed(deps.db, character.idOrSlug, character.version);
    const characterIds = versions
      ? [...new Set(versions.map((v) => v.characterId))]
      : character
        ? (await deps.db.character.findMany({ where: characterByIdOrSlug(character.idOrSlug), select: { id: true } })).map((c) => c.id)
        : null;
    if (characterIds && !characterIds.length) return void res.json({ items: [], nextCursor: null });
    const where = {
      ...projectScope(callerOf(res)),
      ...(query.status ? { status: query.status as JobStatus } : {}),
      ...(query.project ? { AND: [{ project: query.project }] } : {}),
      ...(query.source ? { source: query.source } : {}),
      ...(query.requestId ? { requestId: query.requestId } : {}),
      ...(characterIds ? { characterId: { in: characterIds } } : {}),
      ...(versions ? { characterVersionId: { in: versions.map((v) => v.id) } } : {}),
    };
    // A cursor outside the caller's projects reads as an unknown one (an empty page): else paging
    // from another project's id would tell that it exists, and when it was made.
    const filter = await pageFilter(where, query.cursor, (id) => deps.db.generationJob.findFirst({ where: { id, ...projectScope(callerOf(res)) }, select: { createdAt: true, id: true } }));
    if (!filter) return void res.json({ items: [], nextCursor: null });
    const rows = await deps.db.generationJob.findMany({ where: filter, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: query.limit + 1, select: { id: true } });
    const page = rows.slice(0, query.limit);
    const items = await readGenerationResources(deps.db, page.map((r) => r.id));
    res.json({ items, nextCursor: rows.length > query.limit ? page[page.length - 1].id : null });
  });

  router.get('/:id', async (req, res) => {
    const id = parseOr400(idParam, req.params.id, 'generation id', 'id');
    // Read with the key (keyFinderWithGeneration), else in one statement of its own; a generation
    // outside the caller's projects reads as one that does not exist.
    const { projects } = callerOf(res);
    const readWithKey = generationReadWithKey(res, id, projects);
    const resource = readWithKey === undefined ? await readGenerationResource(deps.db, id, projects) : readWithKey;
    if (!resource) throw notFound(`generation ${id}`);
    res.json(resource);
  });

  router.post('/:id/cancel', async (req, res) => {
    const id = parseOr400(idParam, req.params.id, 'generation id', 'id');
    await requireVisible(deps.db, callerOf(res), id);
    await cancelGeneration(deps, id);
    res.status(202).json(await readGenerationResource(deps.db, id));
  });

  router.post('/:id/retry', jsonBodyOnly, async (req, res) => {
    const id = parseOr400(idParam, req.params.id, 'generation id', 'id');
    const body = parseOr400(retryGenerationBodySchema, req.body ?? {});
    await requireVisible(deps.db, callerOf(res), id);
    const current = await deps.db.generationJob.findUnique({ where: { id }, select: { id: true, status: true, apiKeyId: true, source: true } });
    res.status(202).json(await retryWithinRoom(res, deps, deps.limits.queueRoom, id, current, { newSeed: body.seed === 'new' }));
  });

  return router;
}
