import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { PIPELINE_CATALOG, PRIORITY_RANK, QUEUE_KEYS, queueForStage, type JobStage, type Priority, type QueueKey, type QueuePayloadInput } from '@anime/contracts';

export type PipelineQueueMap = { [K in QueueKey]: Queue };

export interface PipelineQueues {
  /** Each queue of the catalog, by key. */
  byKey: PipelineQueueMap;
  /** Adds a message to a queue, with the catalog's job name, job id rule and retry policy. */
  enqueue<K extends QueueKey>(key: K, payload: QueuePayloadInput<K>, options?: { priority?: Priority }): Promise<unknown>;
  /** Hands a generation to the queue of the stage it is at (none once filed). */
  enqueueStage(generation: { id: string; stage: JobStage; priority: string; correlationId: string | null }): Promise<QueueKey | null>;
  close(): Promise<void>;
}

export interface QueueSettings {
  /** Overrides of a queue's retry attempts (e.g. JOB_MAX_ATTEMPTS for renders). */
  attempts?: Partial<Record<QueueKey, number>>;
}

// Finished BullMQ jobs are kept a while for ops dashboards, bounded; PostgreSQL is the record.
const RETENTION: JobsOptions = {
  removeOnComplete: { age: 24 * 3600, count: 5_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 20_000 },
};

/** The queue settings every producer derives from the shared variables (JOB_MAX_ATTEMPTS for renders). */
export const queueSettingsFrom = (config: { JOB_MAX_ATTEMPTS: number }): QueueSettings => ({ attempts: { generationRenders: config.JOB_MAX_ATTEMPTS } });

export function jobOptionsFor(key: QueueKey, settings: QueueSettings = {}): JobsOptions {
  const { retry } = PIPELINE_CATALOG[key];
  return { ...RETENTION, attempts: settings.attempts?.[key] ?? retry.attempts, backoff: retry.backoff };
}

/** The pipeline's queues, made from the catalog: a message is always added to its own queue's schema. */
export function createPipelineQueues(connection: ConnectionOptions, prefix: string, settings: QueueSettings = {}): PipelineQueues {
  const byKey = Object.fromEntries(
    QUEUE_KEYS.map((key) => [key, new Queue(PIPELINE_CATALOG[key].name, { connection, prefix, defaultJobOptions: jobOptionsFor(key, settings) })]),
  ) as PipelineQueueMap;

  const enqueue: PipelineQueues['enqueue'] = (key, payload, options = {}) => {
    const entry = PIPELINE_CATALOG[key];
    const parsed = entry.schema.parse(payload);
    return byKey[key].add(entry.jobName, parsed, {
      jobId: entry.jobId(parsed as never),
      ...(options.priority ? { priority: PRIORITY_RANK[options.priority] } : {}),
    });
  };

  return {
    byKey,
    enqueue,
    enqueueStage: async (generation) => {
      const key = queueForStage(generation.stage);
      if (!key) return null;
      const payload = { schemaVersion: 1 as const, generationId: generation.id, ...(generation.correlationId ? { correlationId: generation.correlationId } : {}) };
      await enqueue(key, payload, { priority: generation.priority as Priority });
      return key;
    },
    close: async () => {
      await Promise.all(Object.values(byKey).map((q) => q.close()));
    },
  };
}
