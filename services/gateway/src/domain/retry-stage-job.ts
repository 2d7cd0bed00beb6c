import { generationRequestMessageSchema, PIPELINE_CATALOG, queueKeyNamed, type JobStage, type JobStatus, type QueueKey, type StageQueueKey } from '@anime/contracts';
import type { Db } from '@anime/db';
import { admitStage } from '@anime/pipeline';
import { ApiError } from '../http/api-error';

/** What a stage job's retry is decided on: the generation's row. */
export interface StageJobGeneration {
  id: string;
  status: JobStatus;
  stage: JobStage;
  errorCode: string | null;
  /** Whose share of the queue it counts in (null: keyless, then its `source` tells the API's share from a producer's). */
  apiKeyId: string | null;
  source: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SELECT = { id: true, status: true, stage: true, errorCode: true, apiKeyId: true, source: true } as const;
/** A producer's request's key, as the message schema takes it. */
const REQUEST_KEY = generationRequestMessageSchema.pick({ source: true, requestId: true }).strip();

/** Whether a queue carries a generation's stages (webhook deliveries carry none). */
export function isStageQueue(key: QueueKey): key is StageQueueKey {
  return PIPELINE_CATALOG[key].stages.length > 0;
}

/** The stage queue (one that carries a generation's stages) by its BullMQ name; null for any other. */
export function stageQueueNamed(name: string): StageQueueKey | null {
  const key = queueKeyNamed(name);
  return key && isStageQueue(key) ? key : null;
}

/**
 * The generation a stage job's message names, as its worker would find it: its `generationId`,
 * else (a producer's request on generation-requests) its producer's (source, requestId). Null when
 * the message names none that exists (a request that never made a generation).
 */
export async function generationOfStageJob(db: Db, data: unknown): Promise<StageJobGeneration | null> {
  const message = (typeof data === 'object' && data !== null ? data : {}) as { generationId?: unknown; source?: unknown; requestId?: unknown };
  if (typeof message.generationId === 'string' && UUID.test(message.generationId)) {
    const byId = await db.generationJob.findUnique({ where: { id: message.generationId }, select: SELECT });
    if (byId) return byId;
  }
  // Read as its worker reads them (the default source 'queue'): a pair it refuses made no generation,
  // and may not even be compared in PostgreSQL (a NUL in the requestId).
  const request = REQUEST_KEY.safeParse(message);
  if (!request.success || request.data.requestId === undefined) return null;
  return db.generationJob.findFirst({ where: { source: request.data.source, requestId: request.data.requestId }, select: SELECT });
}

/**
 * Why a finished stage job of `queue` may not be retried for `generation`, as a 409 `not_retryable`
 * (null: it may, the generation failed at the stage this queue runs). The stage worker's own rule
 * for a retried job (admitStage), answered before anything moves rather than by the queue job
 * failing later: a generation that is over without a failure (completed, canceled) is not run again
 * by a stage job's retry, one failed at another stage is retried through that stage's job, and one
 * still queued or running is not retried at all (as POST /api/v1/generations/:id/retry answers).
 */
export function stageJobRetryRefusal(generation: StageJobGeneration, queue: StageQueueKey): ApiError | null {
  const decision = admitStage(generation, queue, true);
  if (decision.action === 'reopen') return null;
  const { id, status, stage } = generation;
  const details = { status, stage };
  if (decision.action === 'refuse' && (status === 'failed' || status === 'canceled' || status === 'completed')) {
    // admitStage's reason reads "the generation is canceled: …"; the answer names it.
    return new ApiError(409, 'not_retryable', decision.reason.replace(/^the generation /, `generation ${id} `).replace('<id>', id), details);
  }
  return new ApiError(409, 'not_retryable', `generation ${id} is ${status} (at stage ${stage}); only a failed generation's stage job can be retried`, details);
}
