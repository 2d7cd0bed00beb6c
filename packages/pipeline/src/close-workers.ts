import type { Worker } from 'bullmq';
import type { Logger } from '@anime/logger';

/**
 * Stops the workers taking jobs and gives the jobs in flight `graceMs` to finish; what is still
 * running then (a render can take minutes) is left where it is: the worker closes without waiting,
 * BullMQ records nothing for those jobs (their locks lapse, so a restarted worker takes them as
 * stalled), and each processor is safe to run again — the orchestrator resumes the prompt it
 * recorded in PostgreSQL instead of submitting another.
 *
 * `pause()` waits for the active jobs without committing to a way of closing (BullMQ's `close()`
 * keeps its first call's promise, so `close()` then `close(true)` would still wait for them).
 */
export async function closeWorkers(workers: Worker[], graceMs: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const drained = Promise.all(workers.map((w) => w.pause())).then(() => true);
  const finished = await Promise.race([drained, graceOver]).catch(() => false);
  clearTimeout(timer);
  if (!finished) {
    log.warn('in-flight jobs left for a restarted worker to resume', { graceMs, active: workers.map((w) => w.name) });
  }
  await Promise.all(workers.map((w) => w.close(!finished)));
}
