import type { Request, Response } from 'express';
import type { KeyRowFinder } from '@anime/api-keys';
import type { Db } from '@anime/db';
import { countRateLimitRefusal } from '@anime/pipeline';
import { keyAndQueueRoomFinder } from '../../data/find-key-with-queue-room';
import { assertQueueRoom, QUEUE_FULL_RETRY_AFTER_S, QueueFullError, type QueueCaps, type QueueRoom } from '../../domain/queue-pressure';
import { callerOf } from '../auth/caller';

const PRE_READ = 'queueRoom';
// POST /api/v1/generations as the /api authentication middleware sees it (Express routes ignore case and a trailing slash).
const NEW_GENERATION = /^\/v1\/generations\/?$/i;

/**
 * For the /api authentication middleware: a new generation's key is read with the queue's room in
 * one statement (kept on the response for requireQueueRoom); any other request reads its key alone.
 */
export function keyFinderWithQueueRoom(db: Db, caps: QueueCaps): (req: Request, res: Response) => KeyRowFinder | undefined {
  return (req, res) => (req.method === 'POST' && NEW_GENERATION.test(req.path) ? keyAndQueueRoomFinder(db, caps, (room) => (res.locals[PRE_READ] = room)) : undefined);
}

/**
 * 429 `queue_full` with `Retry-After` when the queue, or the caller's share of it, is full: from the
 * counts this request read with its key (keyFinderWithQueueRoom), else read now.
 */
export async function requireQueueRoom(res: Response, db: Db, caps: QueueCaps): Promise<void> {
  try {
    await assertQueueRoom(db, caps, callerOf(res).keyId, res.locals[PRE_READ] as QueueRoom | undefined);
  } catch (error) {
    if (error instanceof QueueFullError) {
      res.setHeader('Retry-After', String(QUEUE_FULL_RETRY_AFTER_S));
      countRateLimitRefusal((error.details as { scope?: string } | undefined)?.scope === 'global' ? 'queue_depth' : 'queued_per_key');
    }
    throw error;
  }
}
