import type { Job } from 'bullmq';
import { Router, type Response } from 'express';
import { PIPELINE_CATALOG, queueKeyNamed, type QueueKey, type StageQueueKey } from '@anime/contracts';
import { generationOfStageJob, isStageQueue, stageJobRetryRefusal } from '../../domain/retry-stage-job';
import type { RetryGenerationDeps } from '../../domain/retry-generation';
import type { QueueRoomBounds } from '../../domain/queue-room-bounds';
import { ApiError } from '../api-error';
import { retryWithinRoom } from '../limits/retry-within-room';
import { jobMovedRefusal } from './job-moved-refusal';

export interface BoardRetryDeps extends RetryGenerationDeps {
  /** The gateway's queue room (MAX_QUEUED_PER_KEY, MAX_QUEUE_DEPTH), as the REST retry checks it. */
  queueRoom: QueueRoomBounds;
}

type Finished = 'failed' | 'completed';
const FINISHED = new Set<string>(['failed', 'completed']);
const isFinished = (state: string): state is Finished => FINISHED.has(state);

/**
 * A finished stage job retried from the board, as POST /api/v1/generations/:id/retry retries its
 * generation: 409 `not_retryable` unless the generation failed at the stage this queue runs
 * (stageJobRetryRefusal), 429 `queue_full` when its owner's share (or the queue) is full; else it
 * is re-opened and handed to its stage's queue under the same job id (the finished job is replaced),
 * counted in its owner's share under that key's lock. `passed`: the message names no generation
 * (a producer's request that never made one), for BullMQ's own retry.
 */
async function retryStageJob(deps: BoardRetryDeps, res: Response, queue: StageQueueKey, job: Job): Promise<'retried' | 'passed'> {
  const generation = await generationOfStageJob(deps.db, job.data);
  if (!generation) return 'passed';
  const refusal = stageJobRetryRefusal(generation, queue);
  if (refusal) throw refusal;
  await retryWithinRoom(res, deps, deps.queueRoom, generation.id, generation, { newSeed: false, reason: `its ${PIPELINE_CATALOG[queue].name} job was retried from the queue board` });
  return 'retried';
}

/**
 * A finished job retried from the board: a stage job naming a generation through the generation's
 * lifecycle (retryStageJob, which throws its refusals), any other (a producer's request that never
 * made a generation, a webhook delivery) by BullMQ's own retry. Null once retried; BullMQ's refusal
 * of a job that left `status` since it was looked at (another retry took it, or it was removed) as
 * its 409/404 (jobMovedRefusal), which BullMQ's atomic check makes the one retry that loses. Any other
 * failure is thrown.
 */
async function retryFinishedJob(deps: BoardRetryDeps, res: Response, queue: QueueKey, job: Job, status: Finished): Promise<ApiError | null> {
  if (isStageQueue(queue) && (await retryStageJob(deps, res, queue, job)) === 'retried') return null;
  try {
    await job.retry(status);
    return null;
  } catch (error) {
    const refusal = jobMovedRefusal(error, job.id ?? '', status);
    if (!refusal) throw error;
    return refusal;
  }
}

/**
 * bull-board's retry of one job (PUT …/:queueName/:jobId/retry) and of every job of a status
 * (PUT …/:queueName/retry/:queueStatus), made here for every queue of the catalog (retryFinishedJob):
 * a stage job through its generation's lifecycle rather than BullMQ's `job.retry()`, which let the
 * stage worker re-open a failed generation past its owner's MAX_QUEUED_PER_KEY and answered 204 for
 * a retry its worker then refused; any other job by BullMQ, whose refusal of a job another retry took
 * first (two admins, a double click) bull-board answered 500. What bull-board itself refuses (an
 * unknown queue or job, a job not finished, a status not retriable) is left to it.
 */
export function boardRetry(deps: BoardRetryDeps): Router {
  const guard = Router();
  guard.put('/api/queues/:queueName/:jobId/retry', async (req, res, next) => {
    try {
      const queue = queueKeyNamed(req.params.queueName);
      const job = queue ? await deps.queues.byKey[queue].getJob(req.params.jobId) : undefined;
      const state = job ? await job.getState() : 'unknown';
      if (!queue || !job || !isFinished(state)) return next();
      const refusal = await retryFinishedJob(deps, res, queue, job, state);
      if (refusal) return next(refusal);
      res.status(204).end();
    } catch (error) {
      next(error);
    }
  });

  // Each job as one retry, in turn: each counts in its owner's share, so the share fills as they
  // go; the rest are refused, counted by code (`refused`), and left as they are. A job that left
  // the status since it was listed (another retry took it) is skipped as one found so before.
  guard.put('/api/queues/:queueName/retry/:queueStatus', async (req, res, next) => {
    try {
      const queue = queueKeyNamed(req.params.queueName);
      const status = req.params.queueStatus;
      if (!queue || !isFinished(status)) return next();
      const jobs = deps.queues.byKey[queue];
      // A snapshot of the ids: a retried job leaves the list, a refused one stays.
      const ids = await jobs.getRanges([status], 0, -1);
      let retried = 0;
      const refused: Record<string, number> = {};
      for (const id of ids) {
        const job = await jobs.getJob(id);
        if (!job || (await job.getState()) !== status) continue;
        try {
          if ((await retryFinishedJob(deps, res, queue, job, status)) === null) retried += 1;
        } catch (error) {
          if (!(error instanceof ApiError) || error.status >= 500) throw error;
          refused[error.code] = (refused[error.code] ?? 0) + 1;
        }
      }
      // A refusal's Retry-After is about one job, not this answer.
      res.removeHeader('Retry-After');
      res.status(200).json({ retried, skipped: ids.length - retried, refused });
    } catch (error) {
      next(error);
    }
  });
  return guard;
}
