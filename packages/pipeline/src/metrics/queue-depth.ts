import { PIPELINE_CATALOG, QUEUE_KEYS } from '@anime/contracts';
import { within } from '../bounded';
import type { PipelineQueues } from '../queues';
import { onScrape, QUEUE_JOB_STATES, queueJobs } from './anime-metrics';

/** A scrape must answer even when Redis does not: the counts are then left out, not stale. */
const COUNT_TIMEOUT_MS = 2_000;

/** Reports the depth of every pipeline queue, read through these queues at each scrape; returns the undo. */
export function watchQueueDepths(queues: PipelineQueues): () => void {
  const remove = onScrape('anime_queue_jobs', async () => {
    queueJobs.reset();
    // Redis unreachable or slow: no counts rather than a failed scrape.
    const counts = await within(
      Promise.all(QUEUE_KEYS.map(async (key) => [PIPELINE_CATALOG[key].name, await queues.byKey[key].getJobCounts(...QUEUE_JOB_STATES)] as const)),
      COUNT_TIMEOUT_MS,
    );
    for (const [queue, byState] of counts ?? []) {
      for (const state of QUEUE_JOB_STATES) queueJobs.set({ queue, state }, byState[state] ?? 0);
    }
  });
  return () => {
    remove();
    queueJobs.reset();
  };
}
