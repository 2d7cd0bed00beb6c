import { Router } from 'express';
import type { Queue } from 'bullmq';
import { PIPELINE_CATALOG, QUEUE_KEYS } from '@anime/contracts';
import type { PipelineQueues } from '@anime/pipeline';
import { ApiError } from '../api-error';

export interface QueueRoutesDeps {
  queues: PipelineQueues;
}

/** A queue as `GET /api/v1/queues` shows it. */
async function describeQueue(name: string, queue: Queue) {
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
  return {
    name,
    paused: await queue.isPaused(),
    counts: {
      // BullMQ keeps jobs added with a priority (every stage job) apart from plain waiting ones.
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
    },
  };
}

/** Every queue of the pipeline catalog, with its counts; pausing one stops its consumers taking new jobs. */
export function queueRoutes(deps: QueueRoutesDeps): Router {
  const router = Router();
  const byName = (name: string) => {
    const key = QUEUE_KEYS.find((k) => PIPELINE_CATALOG[k].name === name);
    if (!key) throw new ApiError(404, 'queue_not_found', `no queue "${name}"`, { available: QUEUE_KEYS.map((k) => PIPELINE_CATALOG[k].name) });
    return deps.queues.byKey[key];
  };

  router.get('/', async (_req, res) => {
    res.json({ items: await Promise.all(QUEUE_KEYS.map((key) => describeQueue(PIPELINE_CATALOG[key].name, deps.queues.byKey[key]))) });
  });

  router.post('/:name/pause', async (req, res) => {
    const queue = byName(req.params.name);
    await queue.pause();
    res.json(await describeQueue(req.params.name, queue));
  });

  router.post('/:name/resume', async (req, res) => {
    const queue = byName(req.params.name);
    await queue.resume();
    res.json(await describeQueue(req.params.name, queue));
  });

  return router;
}
