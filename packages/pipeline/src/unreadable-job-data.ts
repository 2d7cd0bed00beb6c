import { Worker, type Job, type JobJson } from 'bullmq';

/** Each job handed out with its data unread: why it could not be read (JSON.parse's message), and the text stored. */
const unreadable = new WeakMap<Job, { error: string; text: string }>();

/**
 * A BullMQ worker that still hands out a job whose stored data is not JSON (another system wrote the
 * hash itself, or a producer's JSON library wrote `NaN`), with `null` as its data: BullMQ's own
 * Job.fromJSON throws on it after the job was moved to active, so it never started, was taken for
 * stalled, put back and fetched again, for ever, a "worker error" logged each time. Handed out, its
 * processor refuses it once (unreadableJobData) and it fails like any invalid message.
 */
export class ReadableJobsWorker<D = unknown, R = unknown> extends Worker<D, R> {
  protected override createJob(data: JobJson, jobId: string): Job<D, R> {
    try {
      return super.createJob(data, jobId);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      const job = super.createJob({ ...data, data: 'null' }, jobId);
      unreadable.set(job, { error: error.message, text: String(data.data) });
      return job;
    }
  }
}

/** When the job's stored data was not JSON (its `data` is then null): JSON.parse's message and the text; undefined otherwise. */
export function unreadableJobData(job: Job): { error: string; text: string } | undefined {
  return unreadable.get(job);
}

/** How much of a refused message is kept in Redis, as a JSON string, in place of what it held. */
export const REFUSED_DATA_KEPT_CHARS = 4_096;

/**
 * Replaces what a refused job holds in Redis by `text`, cut to REFUSED_DATA_KEPT_CHARS, as a JSON
 * string: BullMQ's readers (the gateway's queue board) parse a job's data and serialize it again,
 * and threw on data that is not JSON or nests too deep for as long as the failed job was kept
 * (QUEUE_KEEP_FAILED_S), and an oversized one would hold its megabytes there as long.
 */
export async function keepRefusedDataReadable(job: Job, text: string): Promise<void> {
  await job.updateData(text.slice(0, REFUSED_DATA_KEPT_CHARS)).catch(() => undefined);
}
