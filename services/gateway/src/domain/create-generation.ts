import { resolveGeneration } from '@anime/characters';
import { availableWorkflows, findBuiltInWorkflow, type GenerationRequestBody } from '@anime/contracts';
import type { Db } from '@anime/db';
import { enqueueRequest, JobStore, type JobEventPublisher, type PipelineQueues } from '@anime/pipeline';
import type { Logger } from '@anime/logger';
import { ApiError } from '../http/api-error';

export interface CreateGenerationDeps {
  db: Db;
  queues: PipelineQueues;
  events: JobEventPublisher;
  log: Logger;
}

/**
 * Validates the character reference (so a bad one is a 4xx now, not a failed job later), writes
 * the job as `queued` with its first event, then hands it to the `generation-requests` queue.
 * If Redis refuses the hand-off the job is still safe in PostgreSQL and the recovery sweep
 * enqueues it, so the caller gets its 202 either way.
 */
export async function createGeneration(deps: CreateGenerationDeps, body: GenerationRequestBody, correlationId?: string) {
  if (body.workflow !== undefined && !findBuiltInWorkflow(body.workflow)) {
    throw new ApiError(404, 'workflow_not_found', `no workflow "${body.workflow}"; available: ${availableWorkflows().join(', ')}`, {
      workflow: body.workflow,
      available: availableWorkflows(),
    });
  }
  // Throws character_* / version_not_found / outfit_not_found (listing the outfits) before anything is written.
  const { character, version } = await resolveGeneration(deps.db, body);

  const { job, event, request } = await new JobStore(deps.db).createQueued({ body, correlationId, characterId: character.id });
  await deps.events.publish(event);
  try {
    await enqueueRequest(deps.queues, { ...request, schemaVersion: 1, generationId: job.id, correlationId });
  } catch (error) {
    deps.log.warn('could not enqueue; the recovery sweep will', { generationId: job.id, error: (error as Error).message });
  }
  return { id: job.id, status: 'queued' as const, version: version.number };
}
