import { PIPELINE_CATALOG, type QueueKey } from '@anime/contracts';
import type { Db } from '@anime/db';
import { findStranded, type StrandedCursor } from './lifecycle/find-stranded';
import type { PipelineQueues } from './queues';

/** Only work older than this is swept, so a hand-off in flight is not raced. */
export const RECOVERY_GRACE_MS = 10_000;

/** How many generations the sweep reads from PostgreSQL at a time. */
const SWEEP_PAGE = 500;

/**
 * Makes sure every unfinished generation at `queue`'s stages has a live stage job: Redis may have
 * lost it (a restart keeps nothing), or its run ended without moving the generation on. A live
 * (waiting, active, delayed) job is left alone; a finished one is replaced. Every such generation is
 * looked at, page after page: the oldest ones still waiting must not hide newer ones whose job was
 * lost (a Redis restart under a deep queue, a board's "clean"). Returns how many were added.
 */
export async function sweepStage(db: Db, queues: PipelineQueues, queue: QueueKey, graceMs = RECOVERY_GRACE_MS): Promise<number> {
  const entry = PIPELINE_CATALOG[queue];
  const before = new Date(Date.now() - graceMs);
  let added = 0;
  let after: StrandedCursor | undefined;
  for (;;) {
    const page = await findStranded(db, queue, before, SWEEP_PAGE, after);
    for (const generation of page) {
      const jobId = entry.jobId({ schemaVersion: 1, generationId: generation.id } as never);
      if (jobId) {
        // One round trip for the common case (a live job); 'unknown' when Redis has none.
        const state = await queues.byKey[queue].getJobState(jobId);
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue;
        await queues.byKey[queue].remove(jobId).catch(() => undefined);
      }
      await queues.enqueueStage(generation);
      added++;
    }
    if (page.length < SWEEP_PAGE) return added;
    after = page[page.length - 1];
  }
}
