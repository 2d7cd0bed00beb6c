import { PIPELINE_CATALOG, type QueueKey } from '@anime/contracts';
import type { Db } from '@anime/db';
import { findStranded } from './lifecycle/find-stranded';
import type { PipelineQueues } from './queues';

/** Only work older than this is swept, so a hand-off in flight is not raced. */
export const RECOVERY_GRACE_MS = 10_000;

/**
 * Makes sure every unfinished generation at `queue`'s stages has a live stage job: Redis may have
 * lost it (a restart keeps nothing), or its run ended without moving the generation on. A live
 * (waiting, active, delayed) job is left alone; a finished one is replaced. Returns how many were added.
 */
export async function sweepStage(db: Db, queues: PipelineQueues, queue: QueueKey, graceMs = RECOVERY_GRACE_MS): Promise<number> {
  const entry = PIPELINE_CATALOG[queue];
  let added = 0;
  for (const generation of await findStranded(db, queue, new Date(Date.now() - graceMs))) {
    const jobId = entry.jobId({ schemaVersion: 1, generationId: generation.id } as never);
    const existing = jobId ? await queues.byKey[queue].getJob(jobId) : undefined;
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue;
      await existing.remove().catch(() => undefined);
    }
    await queues.enqueueStage(generation);
    added++;
  }
  return added;
}
