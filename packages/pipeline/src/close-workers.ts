import type { Worker } from 'bullmq';
import type { Logger } from '@anime/logger';
import { within } from './bounded';

/** The reason the processors' signals carry when their jobs are handed back. */
const WORKER_CLOSING = 'the worker is closing';

/**
 * Stops the workers taking jobs and gives the jobs in flight `graceMs` to finish. What is still
 * running then (a render can take minutes) is handed back: each processor's signal is aborted, and
 * the stage worker puts its job back in its queue, its tries untouched, for another process (or this
 * one restarted) to take at once; the orchestrator there resumes the prompt it recorded in
 * PostgreSQL instead of submitting another. A processor that does not end within `handBackMs` of
 * its abort is left where it is: the worker closes without waiting, BullMQ records nothing for its
 * job (its lock lapses, so a worker takes it as stalled), and each processor is safe to run again.
 *
 * `pause()` waits for the active jobs without committing to a way of closing (BullMQ's `close()`
 * keeps its first call's promise, so `close()` then `close(true)` would still wait for them).
 */
export async function closeWorkers(workers: Worker[], graceMs: number, log: Logger, handBackMs = 1_000): Promise<void> {
  // A pause that fails counts as not drained (within answers undefined for it).
  const drained = Promise.all(workers.map((w) => w.pause())).then(() => true);
  let finished = (await within(drained, graceMs)) ?? false;
  if (!finished) {
    log.info('in-flight jobs outlasted the grace: handing them back to their queues', { graceMs, active: workers.map((w) => w.name) });
    for (const worker of workers) worker.cancelAllJobs(WORKER_CLOSING);
    finished = (await within(drained, handBackMs)) ?? false;
  }
  if (!finished) {
    log.warn('in-flight jobs left for a restarted worker to resume', { graceMs, handBackMs, active: workers.map((w) => w.name) });
  }
  await Promise.all(workers.map((w) => w.close(!finished)));
}
