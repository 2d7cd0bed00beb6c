import { Job, type Queue } from 'bullmq';

/**
 * Brings the delayed job `jobId` of `queue` forward, by id, without reading it first (BullMQ has no
 * public promote-by-id: a Job object naming it is enough for its promote script). BullMQ refuses a job
 * that is not delayed (its delay over, another process promoted it, it ended): whether this promoted it.
 */
export function promoteDelayedJob(queue: Queue, jobId: string): Promise<boolean> {
  return new Job(queue, '', null, {}, jobId).promote().then(
    () => true,
    () => false,
  );
}
