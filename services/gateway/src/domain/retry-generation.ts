import type { Db } from '@anime/db';
import { JobLifecycle, MAX_GENERATION_EVENTS, type JobEventPublisher, type PipelineQueues } from '@anime/pipeline';
import type { Logger } from '@anime/logger';
import type { GenerationResource } from '@anime/contracts';
import { readGenerationResource } from '../data/generation-resources';
import { ApiError, notFound } from '../http/api-error';
import { boundedHandoff } from './bounded-handoff';
import { keyQueueFull } from './queue-pressure';

export interface RetryGenerationDeps {
  db: Db;
  queues: PipelineQueues;
  events: JobEventPublisher;
  log: Logger;
}

/**
 * Runs a failed or canceled generation again as a new attempt under the same id, from the stage it
 * stopped at (same seed unless `newSeed`), and hands it to that stage's queue; 429 queue_full when
 * the key it counts for already has `maxQueuedPerKey` queued or running. Anything else is
 * 409 `not_retryable`, as is one whose history reached MAX_GENERATION_EVENTS (a cancel-and-retry
 * loop would grow it, and every subscribe's replay, without end). If Redis refuses the hand-off, the recovery sweep enqueues it.
 * Answers the generation as the retry left it (queued), read before the hand-off: once handed off,
 * a worker may already have moved it on, and the answer must not depend on that race.
 */
export async function retryGeneration(deps: RetryGenerationDeps, id: string, options: { newSeed: boolean; maxQueuedPerKey: number; reason?: string }): Promise<GenerationResource> {
  const lifecycle = new JobLifecycle(deps.db);
  // Counted and re-opened under the queue lock of the key it counts for, as a new generation is: 429 queue_full, nothing changed, at the cap.
  const retried = await lifecycle.retryWithinCap(id, { reason: options.reason ?? 'retry requested over the API', newSeed: options.newSeed }, options.maxQueuedPerKey, 'api');
  if (retried && 'full' in retried) throw keyQueueFull(options.maxQueuedPerKey);
  const event = retried;
  const job = await deps.db.generationJob.findUnique({ where: { id }, select: { id: true, status: true, stage: true, priority: true, correlationId: true } });
  if (!job) throw notFound(`generation ${id}`);
  // Its stored events (what a subscribe replays), not "eventSeq", which counts progress seqs too.
  const events = !event && (job.status === 'failed' || job.status === 'canceled') ? await deps.db.jobEvent.count({ where: { jobId: id } }) : 0;
  if (events >= MAX_GENERATION_EVENTS) {
    throw new ApiError(409, 'not_retryable', `generation ${id} has been retried too often (${events} events, at most ${MAX_GENERATION_EVENTS}); submit a new generation instead`, {
      status: job.status,
      events,
      max: MAX_GENERATION_EVENTS,
    });
  }
  if (!event) {
    throw new ApiError(409, 'not_retryable', `generation ${id} is ${job.status}; only a failed or canceled generation can be retried`, { status: job.status });
  }
  const accepted = await readGenerationResource(deps.db, id);
  if (!accepted) throw notFound(`generation ${id}`);
  const handoff = (async () => {
    await deps.events.publish(event);
    await deps.queues.enqueueStage(job, { replaceFinished: true });
  })();
  await boundedHandoff(handoff, deps.log, 'enqueue the retried generation', { generationId: id });
  return accepted;
}
