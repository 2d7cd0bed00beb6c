import type { Worker } from 'bullmq';

/** What BullMQ 6.7's Worker keeps of its running main loop: the queue of fetches and jobs it awaits. */
interface MainLoopQueue {
  add(promise: Promise<unknown>): void;
}

/**
 * Sets a worker's concurrency so that a raise takes effect at once. BullMQ's main loop reads the
 * concurrency only before it fetches: holding as many jobs as it may, it waits for one of them to
 * end before it looks again, so a raise waited for the next job to finish (for a render, as long
 * as a prompt runs). The loop is woken as BullMQ's own resume() wakes it, with a settled item in the
 * queue it awaits; without that queue (no loop running) the new value is read at the next start.
 */
export function setConcurrency(worker: Worker, value: number): void {
  const raised = value > worker.concurrency;
  worker.concurrency = value;
  if (raised) (worker as unknown as { mainLoopQueue?: MainLoopQueue | null }).mainLoopQueue?.add(Promise.resolve());
}
