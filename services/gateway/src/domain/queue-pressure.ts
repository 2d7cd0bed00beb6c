import type { Db } from '@anime/db';
import { ApiError } from '../http/api-error';

/** Asked of a refused caller: long enough for a backend to finish a few jobs. */
export const QUEUE_FULL_RETRY_AFTER_S = 10;

export interface QueueCaps {
  /** MAX_QUEUED_PER_KEY: a key's generations not yet terminal (queued or running). */
  maxQueuedPerKey: number;
  /** MAX_QUEUE_DEPTH: generations waiting (queued), every key together. */
  maxQueueDepth: number;
}

export class QueueFullError extends ApiError {
  constructor(message: string, details: unknown) {
    super(429, 'queue_full', message, details);
  }
}

/** Generations waiting for a backend; counted up to `upTo` at most when given (an index range, cheap). */
export function queueDepth(db: Db, upTo?: number): Promise<number> {
  return db.generationJob.count({ where: { status: 'queued' }, ...(upTo ? { take: upTo } : {}) });
}

/**
 * Refuses a new (or retried) generation when the queue, or this key's share of it, is full.
 * Counts are read, not reserved: requests racing each other may overshoot a cap by how many are in
 * flight at once, which the per-second rate limit keeps small.
 * `keyId` null is the local caller of AUTH_MODE=off: generations made over the API without a key.
 */
export async function assertQueueRoom(db: Db, caps: QueueCaps, keyId: string | null): Promise<void> {
  const [depth, ofKey] = await Promise.all([
    queueDepth(db, caps.maxQueueDepth),
    db.generationJob.count({
      where: { apiKeyId: keyId, status: { in: ['queued', 'running'] }, ...(keyId ? {} : { source: 'api' }) },
      take: caps.maxQueuedPerKey,
    }),
  ]);
  if (depth >= caps.maxQueueDepth) {
    throw new QueueFullError(`the queue holds ${caps.maxQueueDepth} waiting generations, its limit; retry later`, { scope: 'global', limit: caps.maxQueueDepth, retryAfterS: QUEUE_FULL_RETRY_AFTER_S });
  }
  if (ofKey >= caps.maxQueuedPerKey) {
    throw new QueueFullError(`this key already has ${caps.maxQueuedPerKey} generations queued or running, its limit; retry once some finish`, {
      scope: 'key',
      limit: caps.maxQueuedPerKey,
      retryAfterS: QUEUE_FULL_RETRY_AFTER_S,
    });
  }
}
