import { resolveGeneration } from '@anime/characters';
import { availableWorkflows, findBuiltInWorkflow, type GenerationRequestBody } from '@anime/contracts';
import type { Db } from '@anime/db';
import { JobLifecycle, type JobEventPublisher, type PipelineQueues } from '@anime/pipeline';
import type { Logger } from '@anime/logger';
import { ApiError } from '../http/api-error';

export interface CreateGenerationDeps {
  db: Db;
  queues: PipelineQueues;
  events: JobEventPublisher;
  log: Logger;
}

/**
 * Resolves the character (so a bad reference is a 4xx now, not a failed job later) and writes the
 * generation already resolved, with its first event, then hands it straight to `generation-renders`:
 * the character is resolved once on this path. If Redis refuses the hand-off the generation is
 * still safe in PostgreSQL and the recovery sweep enqueues it, so the caller gets its 202 either way.
 */
export async function createGeneration(deps: CreateGenerationDeps, body: GenerationRequestBody, correlationId?: string) {
  if (body.workflow !== undefined && !findBuiltInWorkflow(body.workflow)) {
    throw new ApiError(404, 'workflow_not_found', `no workflow "${body.workflow}"; available: ${availableWorkflows().join(', ')}`, {
      workflow: body.workflow,
      available: availableWorkflows(),
    });
  }
  // Throws character_* / version_not_found / outfit_not_found (listing the outfits) before anything is written.
  const { character, version, conditioning } = await resolveGeneration(deps.db, body);
  const { job, event } = await new JobLifecycle(deps.db).create({
    body,
    source: 'api',
    correlationId,
    resolution: { characterId: character.id, characterVersionId: version.id, conditioning },
  });
  await deps.events.publishAll([event]);
  try {
    await deps.queues.enqueueStage(job);
  } catch (error) {
    deps.log.warn('could not enqueue; the recovery sweep will', { generationId: job.id, error: (error as Error).message });
  }
  return { id: job.id, status: 'queued' as const, version: version.number };
}
