import type { GenerationRequestBody } from '@anime/contracts';
import type { Db } from '@anime/db';
import { JobLifecycle, type JobEventPublisher, type PipelineQueues } from '@anime/pipeline';
import type { Logger } from '@anime/logger';
import { resolveWorkflowRequest } from '@anime/workflows';
import { resolveGenerationFast } from './resolve-generation-fast';

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
export async function createGeneration(deps: CreateGenerationDeps, body: GenerationRequestBody, correlationId?: string, apiKeyId?: string | null) {
  // Throws workflow_not_found (listing what exists) or validation_failed naming each bad params.<name>.
  const workflow = await resolveWorkflowRequest(deps.db, body);
  // Throws character_* / version_not_found / outfit_not_found (listing the outfits) before anything is written.
  const { character, version, conditioning } = await resolveGenerationFast(deps.db, body);
  const { job, event } = await new JobLifecycle(deps.db).create({
    body,
    source: 'api',
    correlationId,
    apiKeyId,
    resolution: { characterId: character.id, characterVersionId: version.id, conditioning: { ...conditioning, workflow } },
  });
  await deps.events.publishAll([event]);
  try {
    await deps.queues.enqueueStage(job);
  } catch (error) {
    deps.log.warn('could not enqueue; the recovery sweep will', { generationId: job.id, error: (error as Error).message });
  }
  return { id: job.id, status: 'queued' as const, version: version.number };
}
