import { queueKeyNamed } from '@anime/contracts';
import type { PipelineQueues } from '@anime/pipeline';
import { Router } from 'express';
import { ApiError } from '../api-error';
import { jobMovedRefusal } from './job-moved-refusal';

/**
 * bull-board's promote of a delayed job (PUT …/:queueName/:jobId/promote), made here: one not delayed
 * (the board showed it delayed, then BullMQ moved it on) is 409 `job_not_delayed` naming its state,
 * and one another promote took first (two admins, a double click) between that look and BullMQ's
 * promote is 409 `job_state_changed` (jobMovedRefusal), where bull-board answered both 500. An unknown
 * queue or job is left to bull-board (404).
 */
export function boardPromote(queues: PipelineQueues): Router {
  const guard = Router();
  guard.put('/api/queues/:queueName/:jobId/promote', async (req, res, next) => {
    try {
      const key = queueKeyNamed(req.params.queueName);
      const job = key ? await queues.byKey[key].getJob(req.params.jobId) : undefined;
      if (!job) return next();
      const state = await job.getState();
      if (state !== 'delayed') {
        return next(new ApiError(409, 'job_not_delayed', `job ${req.params.jobId} is ${state}, not delayed: only a delayed job can be promoted`, { state }));
      }
      try {
        await job.promote();
      } catch (error) {
        return next(jobMovedRefusal(error, req.params.jobId, 'delayed') ?? error);
      }
      res.status(204).end();
    } catch (error) {
      next(error);
    }
  });
  return guard;
}
