import { Router } from 'express';
import { z } from 'zod';
import { characterByIdOrSlug } from '@anime/characters';
import { generationListQuerySchema, generationRequestBodySchema, parseCharacterFilter, retryGenerationBodySchema, webhookNotRegistered, type JobStatus } from '@anime/contracts';
import { requestWebhookEndpoint } from '@anime/pipeline';
import { readGenerationResource, readGenerationResources } from '../../data/generation-resources';
import { cancelGeneration, type CancelGenerationDeps } from '../../domain/cancel-generation';
import { resolveGenerationRequest, writeGeneration, type CreateGenerationDeps } from '../../domain/create-generation';
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
import { jsonBodyOnly } from '../json-body-only';
import { pageFilter } from '../keyset-page';
import { parseOr400 } from '../parse-body';

const idParam = z.string().uuid('must be a generation id (uuid)');
const listQuery = generationListQuerySchema;

/** A generation outside the caller's projects answers exactly as one that does not exist. */
async function requireVisible(db: Db, caller: Caller, id: string): Promise<void> {
  if (caller.projects === null) return;
  const job = await db.generationJob.findUnique({ where: { id }, select: { project: true } });
  if (!job || !reachesProject(caller, job.project)) throw notFound(`generation ${id}`);
}

export function generationRoutes(deps: CreateGenerationDeps & CancelGenerationDeps & { limits: GatewayLimits }): Router {
  const router = Router();

  router.post('/', jsonBodyOnly, async (req, res) => {
    const body = parseOr400(generationRequestBodySchema, req.body ?? {});
    const caller = callerOf(res);
    if (!reachesProject(caller, body.project)) throw projectNotAllowed(body.project);
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
    const created = await writeGeneration(deps, body, resolved.value, res.locals.requestId, caller.keyId, deps.limits.queueCaps.maxQueuedPerKey).catch(async (error: unknown) => {
      await charge.refund();
      throw answerQueueFull(res, deps.limits.queueRoom, error);
    });
    res.status(202).location(`/api/v1/generations/${created.id}`).json({ id: created.id, status: created.status });
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
