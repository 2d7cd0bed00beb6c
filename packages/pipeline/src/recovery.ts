import type { Queue } from 'bullmq';

/**
 * Makes sure a stage job exists for work PostgreSQL says is pending. A live (waiting, active,
 * delayed) BullMQ job is left alone; a finished one is stale (its run ended without moving the
 * generation on, or Redis lost it) and is replaced. Returns whether a job was added.
 */
export async function ensureStageJob(queue: Queue, jobId: string, add: () => Promise<unknown>): Promise<boolean> {
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
    await existing.remove().catch(() => undefined);
  }
  await add();
  return true;
}

/** Only work older than this is swept, so a hand-off in flight is not raced. */
export const RECOVERY_GRACE_MS = 10_000;
