import type { GenerationRequestBody } from '@anime/contracts';
import type { Db } from '@anime/db';
import { JobLifecycle, type JobEventPublisher, type PipelineQueues, type Resolution } from '@anime/pipeline';
import type { Logger } from '@anime/logger';
import { resolveWorkflowRequest } from '@anime/workflows';
import { boundedHandoff } from './bounded-handoff';
import { keyQueueFull } from './queue-pressure';
import { resolveGenerationFast } from './resolve-generation-fast';

export interface CreateGenerationDeps {
  db: Db;
  queues: PipelineQueues;
  events: JobEventPublisher;
  log: Logger;
}

/** A generation request resolved (workflow and character), ready to be written. */
export interface ResolvedGeneration {
  resolution: Resolution;
  version: number;
}

/**
 * Resolves the workflow and the character, so a bad reference is a 4xx now, not a failed job later;
 * nothing is written. The character is resolved once on this path (writeGeneration stores it).
 */
export async function resolveGenerationRequest(deps: Pick<CreateGenerationDeps, 'db'>, body: GenerationRequestBody): Promise<ResolvedGeneration> {
  // Throws workflow_not_found (listing what exists) or validation_failed naming each bad params.<name>.
  const workflow = await resolveWorkflowRequest(deps.db, body);
  // Throws character_* / version_not_found / outfit_not_found (listing the outfits).
  const { character, version, conditioning } = await resolveGenerationFast(deps.db, body);
  return { resolution: { characterId: character.id, characterVersionId: version.id, conditioning: { ...conditioning, workflow } }, version: version.number };
}

/**
 * Writes the generation already resolved, with its first event, while its caller has fewer than
 * `maxQueuedPerKey` queued or running (else QueueFullError, nothing written), then hands it straight to
 * `generation-renders`. The event and the hand-off go out together on the one Redis connection,
 * in that order (so `job:queued` is published before anything can start the job). If Redis
 * refuses the hand-off, or does not answer within HANDOFF_WAIT_MS, the generation is still safe in
 * PostgreSQL and the recovery sweep enqueues it, so the caller gets its 202 either way.
 *
 * `idempotencyKey` is stored as its requestId (source `api`): when a racing request with the key
 * committed first, the unique (source, requestId) index lets nothing be written, and that
 * generation comes back `existing` (not yet checked against this caller and body: replayOf),
 * nothing published or queued. At the caller's cap, too: the key's generation is found, not refused.
 */
export async function writeGeneration(
  deps: CreateGenerationDeps,
  body: GenerationRequestBody,
  resolved: ResolvedGeneration,
  correlationId: string | undefined,
  apiKeyId: string | null,
  maxQueuedPerKey: number,
  idempotencyKey?: string,
): Promise<{ id: string; status: 'queued'; version: number; existing?: false } | { id: string; existing: true }> {
  // Counted and inserted under the caller's queue lock: MAX_QUEUED_PER_KEY holds across racing requests and gateways (429 queue_full, nothing written).
  const created = await new JobLifecycle(deps.db).createWithinCap({ body, source: 'api', requestId: idempotencyKey, correlationId, apiKeyId, resolution: resolved.resolution }, maxQueuedPerKey);
  if ('full' in created) throw keyQueueFull(maxQueuedPerKey);
  if (!created.created) return { id: created.job.id, existing: true };
  const { job, event } = created;
  const published = deps.events.publishAll([event]);
  const enqueued = deps.queues.enqueueStage(job);
  // Committed: the 202 does not wait for a Redis that is away (see boundedHandoff).
  await boundedHandoff(Promise.all([published, enqueued]), deps.log, 'enqueue', { generationId: job.id });
  return { id: job.id, status: 'queued' as const, version: resolved.version };
}
