import { Queue, type ConnectionOptions, type JobsOptions, type KeepJobs } from 'bullmq';
import { JOB_STAGES, PIPELINE_CATALOG, PRIORITY_RANK, QUEUE_KEYS, queueForStage, type JobStage, type Priority, type QueueKey, type QueuePayloadInput } from '@anime/contracts';
import { createLogger, type Logger } from '@anime/logger';
import { promoteDelayedJob } from './promote-delayed-job';
import { reportRedisErrors } from './redis-errors';

export type PipelineQueueMap = { [K in QueueKey]: Queue };

export interface PipelineQueues {
  /** Each queue of the catalog, by key. */
  byKey: PipelineQueueMap;
  /** Adds a message to a queue, with the catalog's job name, job id rule and retry policy. */
  enqueue<K extends QueueKey>(key: K, payload: QueuePayloadInput<K>, options?: { priority?: Priority; delayMs?: number }): Promise<unknown>;
  /**
   * Hands a generation to the queue of the stage it is at (none once filed). With `replaceFinished`
   * (a retried generation), a finished stage job of an earlier run under the same job id is removed
   * first; otherwise adding under that id would be a no-op. So are the earlier run's jobs of the
   * later stages, which the generation will pass through again (a retry with a new seed renders a
   * generation that had reached filing): the hand-offs of this run must not find their ids taken.
   */
  enqueueStage(generation: StageRef, options?: { replaceFinished?: boolean }): Promise<QueueKey | null>;
  /**
   * Brings forward the job of the stage the generation is at, when it is delayed (a render handed
   * back to its queue waits up to 15 min): a generation canceled meanwhile then has its job end now
   * (its stage finds it canceled) instead of lingering delayed. Nothing when no such job is delayed.
   */
  promoteStage(generation: { id: string; stage: JobStage }): Promise<void>;
  close(): Promise<void>;
}

type StageRef = { id: string; stage: JobStage; priority: string; correlationId: string | null };

/** How long a re-enqueue waits for an earlier run's job still winding down (it ends within ms of the generation). */
const ACTIVE_WAIT_MS = 5_000;

export interface QueueSettings {
  /** Overrides of a queue's retry attempts (e.g. JOB_MAX_ATTEMPTS for renders). */
  attempts?: Partial<Record<QueueKey, number>>;
  /** How long finished jobs are kept, in seconds (QUEUE_KEEP_COMPLETED_S, QUEUE_KEEP_FAILED_S); the counts stay bounded. */
  keep?: { completedS?: number; failedS?: number };
}

// Finished BullMQ jobs are kept a while for ops dashboards, bounded by age AND count so Redis
// returns to its baseline once a burst (a 10,000-job soak) has aged out; PostgreSQL is the record.
// Completed: 1 h (QUEUE_KEEP_COMPLETED_S), at most 1,000 per queue. Failed (worth a look, rare): 7 days
// (QUEUE_KEEP_FAILED_S), at most 5,000.
const KEEP_COMPLETED = { age: 3600, count: 1_000 };
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5_000 };

/** About how many entries each queue's BullMQ event stream keeps (BullMQ's default is 10,000); only dashboards read it. */
export const QUEUE_EVENTS_MAXLEN = 1_000;

/** The queue settings every producer derives from the shared variables (JOB_MAX_ATTEMPTS for renders). */
export const queueSettingsFrom = (config: { JOB_MAX_ATTEMPTS: number; QUEUE_KEEP_COMPLETED_S?: number; QUEUE_KEEP_FAILED_S?: number }): QueueSettings => ({
  attempts: { generationRenders: config.JOB_MAX_ATTEMPTS },
  keep: { completedS: config.QUEUE_KEEP_COMPLETED_S, failedS: config.QUEUE_KEEP_FAILED_S },
});

/** How long, and how many, finished jobs are kept (BullMQ removeOnComplete / removeOnFail). */
export function keepJobsFor(settings: QueueSettings = {}): { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } {
  return {
    removeOnComplete: { ...KEEP_COMPLETED, age: settings.keep?.completedS ?? KEEP_COMPLETED.age },
    removeOnFail: { ...KEEP_FAILED, age: settings.keep?.failedS ?? KEEP_FAILED.age },
  };
}

export function jobOptionsFor(key: QueueKey, settings: QueueSettings = {}): JobsOptions {
  const { retry } = PIPELINE_CATALOG[key];
  return {
    ...keepJobsFor(settings),
    attempts: settings.attempts?.[key] ?? retry.attempts,
    backoff: retry.backoff,
  };
}

/**
 * The pipeline's queues, made from the catalog: a message is always added to its own queue's schema.
 * Each queue's Redis errors go to `log` (by default a logger of its own), message only.
 */
export function createPipelineQueues(connection: ConnectionOptions, prefix: string, settings: QueueSettings = {}, log: Logger = createLogger('pipeline')): PipelineQueues {
  const byKey = Object.fromEntries(
    QUEUE_KEYS.map((key) => {
      const name = PIPELINE_CATALOG[key].name;
      const queue = new Queue(name, { connection, prefix, defaultJobOptions: jobOptionsFor(key, settings), streams: { events: { maxLen: QUEUE_EVENTS_MAXLEN } } });
      return [key, reportRedisErrors(queue, log, `queue ${name}`)];
    }),
  ) as PipelineQueueMap;

  const enqueue: PipelineQueues['enqueue'] = (key, payload, options = {}) => {
    const entry = PIPELINE_CATALOG[key];
    const parsed = entry.schema.parse(payload);
    return byKey[key].add(entry.jobName, parsed, {
      jobId: entry.jobId(parsed as never),
      ...(options.priority ? { priority: PRIORITY_RANK[options.priority] } : {}),
      ...(options.delayMs ? { delay: options.delayMs } : {}),
    });
  };

  return {
    byKey,
    enqueue,
    enqueueStage: async (generation, options = {}) => {
      const key = queueForStage(generation.stage);
      if (!key) return null;
      const payload = { schemaVersion: 1 as const, generationId: generation.id, ...(generation.correlationId ? { correlationId: generation.correlationId } : {}) };
      if (options.replaceFinished) {
        await removeFinished(byKey[key], PIPELINE_CATALOG[key].jobId(payload as never));
        for (const later of laterStageQueues(key)) await removeFinished(byKey[later], PIPELINE_CATALOG[later].jobId(payload as never), { evenWaiting: true });
      }
      await enqueue(key, payload, { priority: generation.priority as Priority });
      return key;
    },
    promoteStage: async (generation) => {
      const key = queueForStage(generation.stage);
      const jobId = key && PIPELINE_CATALOG[key].jobId({ schemaVersion: 1, generationId: generation.id } as never);
      if (!key || !jobId) return;
      // A job not delayed is left as it is.
      await promoteDelayedJob(byKey[key], jobId);
    },
    close: async () => {
      await Promise.all(Object.values(byKey).map((q) => q.close()));
    },
  };
}

/** The stage queues after `key`'s stage, in the order a generation passes through them. */
function laterStageQueues(key: QueueKey): QueueKey[] {
  const stageOrder = (k: QueueKey) => Math.min(...(PIPELINE_CATALOG[k].stages as readonly JobStage[]).map((stage) => JOB_STAGES.indexOf(stage)));
  return QUEUE_KEYS.filter((k) => PIPELINE_CATALOG[k].stages.length > 0 && stageOrder(k) > stageOrder(key));
}

/**
 * Removes the finished job under `jobId` so the id can be used again. A job still active (the run
 * that just failed or canceled the generation is returning) is waited for, briefly; a waiting or
 * delayed one is kept (it will run the re-opened generation) unless `evenWaiting`: a later stage's
 * job of the earlier run, which would only be refused. A delayed one kept is promoted: the earlier
 * run's delay (a render handed back to its queue waits up to 30 s) is not the new run's to wait out.
 */
async function removeFinished(queue: Queue, jobId: string | undefined, options: { evenWaiting?: boolean } = {}): Promise<void> {
  if (!jobId) return;
  const until = Date.now() + ACTIVE_WAIT_MS;
  for (;;) {
    const job = await queue.getJob(jobId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'unknown' || (options.evenWaiting && state !== 'active')) {
      await job.remove().catch(() => undefined);
      return;
    }
    // Refused once its delay ended meanwhile (it is waiting then): nothing more to do.
    if (state === 'delayed') await job.promote().catch(() => undefined);
    if (state !== 'active' || Date.now() > until) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
