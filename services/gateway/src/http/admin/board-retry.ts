import { ErrorCode, type Job } from 'bullmq';
import { Router, type Response } from 'express';
import { PIPELINE_CATALOG, type StageQueueKey } from '@anime/contracts';
import { generationOfStageJob, stageJobRetryRefusal, stageQueueNamed } from '../../domain/retry-stage-job';
import type { RetryGenerationDeps } from '../../domain/retry-generation';
import type { QueueRoomBounds } from '../../domain/queue-room-bounds';
import { ApiError } from '../api-error';
import { retryWithinRoom } from '../limits/retry-within-room';

export interface BoardRetryDeps extends RetryGenerationDeps {
  /** The gateway's queue room (MAX_QUEUED_PER_KEY, MAX_QUEUE_DEPTH), as the REST retry checks it. */
  queueRoom: QueueRoomBounds;
}

const FINISHED = new Set(['failed', 'completed']);

/**
 * A finished stage job retried from the board, as POST /api/v1/generations/:id/retry retries its
 * generation: 409 `not_retryable` unless the generation failed at the stage this queue runs
 * (stageJobRetryRefusal), 429 `queue_full` when its owner's share (or the queue) is full; else it
 * is re-opened and handed to its stage's queue under the same job id (the finished job is replaced),
 * counted in its owner's share under that key's lock. `passed`: the message names no generation
 * (a producer's request that never made one), for bull-board's own retry.
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
 * BullMQ's own retry of a finished job (one naming no generation), for "retry all": false when the job
 * left `status` since it was looked at (another retry took it, or it was removed), which BullMQ
 * refuses with its JobNotInState or JobNotExist code; it is skipped as one found so before. The code,
 * not a later read of the job's state: the job another retry took may have failed again by then.
 * Any other failure is thrown.
 */
async function retriedByBullMq(job: Job, status: 'failed' | 'completed'): Promise<boolean> {
  try {
    await job.retry(status);
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === ErrorCode.JobNotInState || code === ErrorCode.JobNotExist) return false;
    throw error;
  }
}

/**
 * bull-board's retry of one job (PUT …/:queueName/:jobId/retry) and of every job of a status
 * (PUT …/:queueName/retry/:queueStatus) on a stage queue, through the generation's lifecycle
 * (retryStageJob) rather than BullMQ's `job.retry()`, which let the stage worker re-open a failed
 * generation past its owner's MAX_QUEUED_PER_KEY and answered 204 for a retry its worker then
 * refused. What bull-board itself refuses (an unknown queue or job, a job not finished, a status not
 * retriable) and other queues (webhook deliveries) are left to it.
 */
export function boardRetry(deps: BoardRetryDeps): Router {
  const guard = Router();
  guard.put('/api/queues/:queueName/:jobId/retry', async (req, res, next) => {
    try {
      const queue = stageQueueNamed(req.params.queueName);
      const job = queue ? await deps.queues.byKey[queue].getJob(req.params.jobId) : undefined;
      if (!queue || !job || !FINISHED.has(await job.getState())) return next();
      if ((await retryStageJob(deps, res, queue, job)) === 'passed') return next();
      res.status(204).end();
    } catch (error) {
      next(error);
    }
  });

  // Each job as one retry, in turn: each counts in its owner's share, so the share fills as they
  // go; the rest are refused, counted by code (`refused`), and left as they are.
  guard.put('/api/queues/:queueName/retry/:queueStatus', async (req, res, next) => {
    try {
      const queue = stageQueueNamed(req.params.queueName);
      const status = req.params.queueStatus;
      if (!queue || !FINISHED.has(status)) return next();
      const jobs = deps.queues.byKey[queue];
      // A snapshot of the ids: a retried job leaves the list, a refused one stays.
      const ids = await jobs.getRanges([status as 'failed' | 'completed'], 0, -1);
      let retried = 0;
      const refused: Record<string, number> = {};
      for (const id of ids) {
        const job = await jobs.getJob(id);
        if (!job || (await job.getState()) !== status) continue;
        try {
          if ((await retryStageJob(deps, res, queue, job)) === 'passed' && !(await retriedByBullMq(job, status as 'failed' | 'completed'))) continue;
          retried += 1;
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
