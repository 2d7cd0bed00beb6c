import { PIPELINE_CATALOG, QUEUE_KEYS } from '@anime/contracts';
import type { PipelineQueues } from '../queues';
import { onScrape, QUEUE_JOB_STATES, queueJobs } from './anime-metrics';

/** A scrape must answer even when Redis does not: the counts are then left out, not stale. */
const COUNT_TIMEOUT_MS = 2_000;

/** Reports the depth of every pipeline queue, read through these queues at each scrape; returns the undo. */
export function watchQueueDepths(queues: PipelineQueues): () => void {
  const remove = onScrape('anime_queue_jobs', async () => {
    queueJobs.reset();
    try {
      const counts = await withinMs(
        Promise.all(QUEUE_KEYS.map(async (key) => [PIPELINE_CATALOG[key].name, await queues.byKey[key].getJobCounts(...QUEUE_JOB_STATES)] as const)),
        COUNT_TIMEOUT_MS,
      );
      for (const [queue, byState] of counts) {
        for (const state of QUEUE_JOB_STATES) queueJobs.set({ queue, state }, byState[state] ?? 0);
      }
    } catch {
      // Redis unreachable: no counts rather than a failed scrape.
    }
  });
  return () => {
    remove();
    queueJobs.reset();
  };
}

function withinMs<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
