import { Router, type Response } from 'express';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PIPELINE_CATALOG, QUEUE_KEYS, queueKeyNamed } from '@anime/contracts';
import type { PipelineQueues } from '@anime/pipeline';
import { ApiError } from '../api-error';

/**
 * How long a queue route waits for Redis. The queues' connection holds commands while Redis is away
 * (a restart, a network cut) rather than failing them, so the answer waited until Redis was back.
 */
export const QUEUE_REDIS_WAIT_MS = 2_000;
/** Seconds a client is asked to wait when Redis is away: a restart takes about that. */
const REDIS_RETRY_AFTER_S = 5;

const redisAway = () => new ApiError(503, 'not_ready', 'Redis, which holds the queues, is not answering; try again shortly');

/**
 * A queue route's Redis work, or 503 `not_ready` with `Retry-After` when Redis does not answer within
 * QUEUE_REDIS_WAIT_MS. Nothing is sent while a queue's connection is down or Redis is silent: a pause
 * held until Redis came back would take effect long after its caller was told it failed.
 */
async function withinRedisWait<T>(queues: Queue[], res: Response, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let answered = false;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      answered = true;
      reject(redisAway());
    }, QUEUE_REDIS_WAIT_MS);
  });
  const done = (async () => {
    // The backend's own client (BullMQ 6's Queue.client is not it): 'reconnecting' while Redis is away.
    // The pipeline's queues share one connection: each distinct connection is looked at once.
    const clients = new Set(await Promise.all(queues.map(async (queue) => (await queue.getBackend().client) as unknown as Redis)));
    for (const client of clients) {
      if (client.status !== 'ready') throw redisAway();
      // A connection still 'ready' to a Redis gone silent (a partition) holds commands as well: the
      // work is sent only once Redis answered, and never after the caller was answered 503.
      await client.ping();
    }
    if (answered) throw redisAway();
    return work();
  })();
  try {
    return await Promise.race([done, late]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 503) res.setHeader('Retry-After', String(REDIS_RETRY_AFTER_S));
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

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
    const key = queueKeyNamed(name);
    if (!key) throw new ApiError(404, 'queue_not_found', `no queue "${name}"`, { available: QUEUE_KEYS.map((k) => PIPELINE_CATALOG[k].name) });
    return deps.queues.byKey[key];
  };

  router.get('/', async (_req, res) => {
    const queues = QUEUE_KEYS.map((key) => deps.queues.byKey[key]);
    res.json({ items: await withinRedisWait(queues, res, () => Promise.all(QUEUE_KEYS.map((key) => describeQueue(PIPELINE_CATALOG[key].name, deps.queues.byKey[key])))) });
  });

  router.post('/:name/pause', async (req, res) => {
    const queue = byName(req.params.name);
    res.json(
      await withinRedisWait([queue], res, async () => {
        await queue.pause();
        return describeQueue(req.params.name, queue);
      }),
    );
  });

  router.post('/:name/resume', async (req, res) => {
    const queue = byName(req.params.name);
    res.json(
      await withinRedisWait([queue], res, async () => {
        await queue.resume();
        return describeQueue(req.params.name, queue);
      }),
    );
  });

  return router;
}
