import { UnrecoverableError } from 'bullmq';
import { CharacterDomainError, resolveGeneration } from '@anime/characters';
import { availableWorkflows, findBuiltInWorkflow, type GenerationRequestPayload } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { enqueueRender, JobStore, type JobEventPublisher, type PipelineQueues } from '@anime/pipeline';

export interface ResolveCharacterDeps {
  db: Db;
  queues: PipelineQueues;
  events: JobEventPublisher;
  log: Logger;
}

/**
 * `generation-requests` → resolves the character version the job will use into conditioning,
 * records it on the job, and hands the job to the orchestrator. Safe to run twice for one job.
 */
export function createResolveCharacterProcessor(deps: ResolveCharacterDeps) {
  const store = new JobStore(deps.db);

  return async function resolveCharacterJob(payload: GenerationRequestPayload): Promise<{ generationId: string; outcome: string }> {
    const job = await findOrCreateJob(deps, payload);
    if (job.status !== 'queued') return { generationId: job.id, outcome: `already ${job.status}` };
    if (job.resolvedAt) {
      await enqueueRender(deps.queues, job.id, payload.priority, payload.correlationId);
      return { generationId: job.id, outcome: 'already resolved' };
    }
    if (payload.workflow !== undefined && !findBuiltInWorkflow(payload.workflow)) {
      const error = { code: 'workflow_not_found' as const, message: `no workflow "${payload.workflow}"; available: ${availableWorkflows().join(', ')}`, details: { available: availableWorkflows() } };
      await deps.events.publishAll([await store.markFailed(job.id, error, ['queued'])]);
      throw new UnrecoverableError(error.message);
    }
    try {
      const { character, version, conditioning } = await resolveGeneration(deps.db, payload);
      await deps.db.generationJob.updateMany({
        where: { id: job.id, status: 'queued', resolvedAt: null },
        data: {
          characterId: character.id,
          characterVersionId: version.id,
          outfit: conditioning.outfit,
          conditioning: conditioning as object,
          resolvedAt: new Date(),
        },
      });
    } catch (error) {
      if (error instanceof CharacterDomainError) {
        await deps.events.publishAll([await store.markFailed(job.id, { code: mapCode(error.code), message: error.message, details: error.details }, ["queued"])]);
        throw new UnrecoverableError(error.message);
      }
      throw error;
    }
    await enqueueRender(deps.queues, job.id, payload.priority, payload.correlationId);
    return { generationId: job.id, outcome: 'resolved' };
  };
}

function mapCode(code: CharacterDomainError['code']) {
  switch (code) {
    case 'character_not_found':
    case 'version_not_found':
    case 'character_ambiguous':
      return 'character_not_found' as const;
    case 'character_archived':
      return 'character_archived' as const;
    case 'outfit_not_found':
      return 'outfit_not_found' as const;
  }
}

/**
 * Jobs put on the queue by other systems arrive without a row: it is created here, once per
 * `requestId` (the idempotency key), with its `job:queued` event.
 */
async function findOrCreateJob(deps: ResolveCharacterDeps, payload: GenerationRequestPayload) {
  if (payload.generationId) {
    const existing = await deps.db.generationJob.findUnique({ where: { id: payload.generationId } });
    if (existing) return existing;
  }
  if (payload.requestId) {
    const existing = await deps.db.generationJob.findUnique({ where: { requestId: payload.requestId } });
    if (existing) return existing;
  }
  const { schemaVersion: _v, requestId, generationId, correlationId, ...body } = payload;
  const created = await new JobStore(deps.db).createQueued({ body, id: generationId, requestId, correlationId });
  await deps.events.publish(created.event);
  deps.log.info('created generation from queue message', { generationId: created.job.id, requestId });
  return created.job;
}
