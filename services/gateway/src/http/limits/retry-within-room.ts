import type { Response } from 'express';
import type { GenerationResource, JobStatus } from '@anime/contracts';
import { retryGeneration, type RetryGenerationDeps } from '../../domain/retry-generation';
import type { QueueRoomBounds } from '../../domain/queue-room-bounds';
import { answerQueueFull, requireRetryRoom } from './queue-room';

/** What a retry's room is decided on: the generation's row as read before it (null: none, a 404 from the retry). */
export interface RetriedGeneration {
  id: string;
  status: JobStatus;
  apiKeyId: string | null;
  source: string;
}

/**
 * A generation's retry as the REST route and the queue board both make it. Only one that would queue
 * again (failed or canceled) waits for room: the early check in the share it counts in
 * (requireRetryRoom), then the retry counted under that share's lock (retryGeneration), whose full
 * count is answered as the early one is (429 `queue_full`, its owner's bound marked full). A missing
 * or active one keeps the retry's own 404 or 409.
 */
export async function retryWithinRoom(
  res: Response,
  deps: RetryGenerationDeps,
  bounds: QueueRoomBounds,
  id: string,
  generation: RetriedGeneration | null,
  options: { newSeed: boolean; reason?: string },
): Promise<GenerationResource> {
  if (generation?.status === 'failed' || generation?.status === 'canceled') await requireRetryRoom(res, deps.db, bounds, generation);
  return retryGeneration(deps, id, { ...options, maxQueuedPerKey: bounds.caps.maxQueuedPerKey }).catch((error: unknown) => {
    // It counts in its owner's share (the key that made it), not the caller's.
    throw answerQueueFull(res, bounds, error, { keyId: generation?.apiKeyId ?? null });
  });
}
