import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { z } from 'zod';
import { withContext, type Logger } from '@anime/logger';

export interface StageWorkerOptions<S extends z.ZodType, R> {
  queue: string;
  prefix: string;
  connection: ConnectionOptions;
  schema: S;
  log: Logger;
  concurrency?: number;
  /** Called with the parsed payload; throw UnrecoverableError for permanent faults. */
  handle: (payload: z.infer<S>, job: Job, signal?: AbortSignal) => Promise<R>;
  /**
   * Tries a job gets before it is given up, when fewer than the queue job's own `attempts`
   * (a thrown error on the last try is treated as unrecoverable).
   */
  maxAttempts?: number;
  /** Called once BullMQ gave up on a job (attempts exhausted or unrecoverable). */
  onGiveUp?: (job: Job, error: Error) => Promise<void>;
}

/**
 * A BullMQ worker whose consumer parses what comes out of Redis: other systems write to these
 * queues, so a malformed payload fails visibly (UnrecoverableError) instead of half-running.
 */
export function createStageWorker<S extends z.ZodType, R>(options: StageWorkerOptions<S, R>): Worker {
  const worker = new Worker(
    options.queue,
    async (job, _token, signal) => {
      const parsed = options.schema.safeParse(job.data);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
        options.log.warn('rejected malformed payload', { queue: options.queue, jobId: job.id, problems });
        throw new UnrecoverableError(`invalid ${options.queue} payload: ${problems}`);
      }
      const correlationId = (parsed.data as { correlationId?: string }).correlationId;
      try {
        return await withContext({ jobId: job.id, queue: options.queue, correlationId }, () => options.handle(parsed.data, job, signal));
      } catch (error) {
        const lastTry = options.maxAttempts !== undefined && job.attemptsMade + 1 >= options.maxAttempts;
        if (lastTry && !(error instanceof UnrecoverableError)) throw new UnrecoverableError(`${(error as Error).message} (try ${job.attemptsMade + 1} of ${options.maxAttempts})`);
        throw error;
      }
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? 1,
      autorun: false,
      // A crashed worker's job becomes stalled and is retried by another (or the restarted) one
      // within ~15 s; processors are idempotent, so a false stall costs time, not correctness.
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 5,
    },
  );
  worker.on('failed', (job, error) => {
    if (!job) return;
    const exhausted = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    options.log.warn('queue job failed', { queue: options.queue, jobId: job.id, attemptsMade: job.attemptsMade, exhausted, error: error.message });
    if (exhausted && options.onGiveUp) {
      options.onGiveUp(job, error).catch((e) => options.log.error('give-up handler failed', { error: (e as Error).message }));
    }
  });
  worker.on('error', (error) => options.log.error('worker error', { queue: options.queue, error: error.message }));
  return worker;
}
