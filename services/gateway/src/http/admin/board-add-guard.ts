import { PIPELINE_CATALOG } from '@anime/contracts';
import type { Db } from '@anime/db';
import { Router } from 'express';
import { generationOfStageJob, stageQueueNamed } from '../../domain/retry-stage-job';
import { ApiError } from '../api-error';

/**
 * bull-board's add (its "add job" and "duplicate" buttons: POST …/:queueName/add) of a stage job whose
 * message names a generation that exists is 409 `generation_exists`: its stage worker would re-open
 * a failed one past its owner's MAX_QUEUED_PER_KEY (or run a second job of an active one), where the
 * generation's retry is the way to run it again. A message naming none (a producer's new request) and
 * other queues are left to bull-board.
 */
export function boardAddGuard(deps: { db: Db }): Router {
  const guard = Router();
  guard.post('/api/queues/:queueName/add', async (req, res, next) => {
    try {
      const queue = stageQueueNamed(req.params.queueName);
      const generation = queue ? await generationOfStageJob(deps.db, (req.body as { data?: unknown } | undefined)?.data) : null;
      if (!queue || !generation) return next();
      const { id, status, stage } = generation;
      next(
        new ApiError(
          409,
          'generation_exists',
          `generation ${id} exists (${status} at stage ${stage}): a ${PIPELINE_CATALOG[queue].name} job for it is not added from the board; retry its job, or POST /api/v1/generations/${id}/retry`,
          { generationId: id, status, stage },
        ),
      );
    } catch (error) {
      next(error);
    }
  });
  return guard;
}
