import type { Response } from 'express';
import type { Db } from '@anime/db';
import { countRateLimitRefusal } from '@anime/pipeline';
import { assertQueueRoom, QUEUE_FULL_RETRY_AFTER_S, QueueFullError, type QueueCaps } from '../../domain/queue-pressure';
import { callerOf } from '../auth/caller';

/** 429 `queue_full` with `Retry-After` when the queue, or the caller's share of it, is full. */
export async function requireQueueRoom(res: Response, db: Db, caps: QueueCaps): Promise<void> {
  try {
    await assertQueueRoom(db, caps, callerOf(res).keyId);
  } catch (error) {
    if (error instanceof QueueFullError) {
      res.setHeader('Retry-After', String(QUEUE_FULL_RETRY_AFTER_S));
      countRateLimitRefusal((error.details as { scope?: string } | undefined)?.scope === 'global' ? 'queue_depth' : 'queued_per_key');
    }
    throw error;
  }
}
