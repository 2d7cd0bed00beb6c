/**
 * The lock settings of every BullMQ worker of the pipeline (stages and webhook deliveries): a crashed
 * worker's job (its lock no longer renewed) is found stalled and handed to another, or to the
 * restarted one, within ~15 s rather than BullMQ's default ~60 s. A running job's lock is renewed
 * every half lockDuration, so a long job is not taken for stalled; a false stall (a process paused
 * past the lock) runs the job twice, which each queue's work is made safe against (stages are
 * idempotent; a webhook message keeps its webhook-id, the receiver's idempotency key), and a job
 * stalled more than maxStalledCount times fails rather than running on.
 */
export const WORKER_LOCKS = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 5 } as const;
