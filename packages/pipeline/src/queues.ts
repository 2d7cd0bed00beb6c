import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import {
  QUEUES,
  JOB_NAMES,
  PRIORITY_RANK,
  stageJobId,
  type AssetFilingPayload,
  type GenerationRenderPayload,
  type GenerationRequestPayload,
  type Priority,
} from '@anime/contracts';

export interface PipelineQueues {
  generationRequests: Queue<GenerationRequestPayload>;
  generationRenders: Queue<GenerationRenderPayload>;
  assetFiling: Queue<AssetFilingPayload>;
  close(): Promise<void>;
}

// Finished BullMQ jobs are kept for a while (ops dashboards) but PostgreSQL is the record.
const BASE_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600, count: 5_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export function createPipelineQueues(connection: ConnectionOptions, prefix: string): PipelineQueues {
  const make = <T>(name: string) => new Queue<T>(name, { connection, prefix, defaultJobOptions: BASE_OPTIONS });
  const queues = {
    generationRequests: make<GenerationRequestPayload>(QUEUES.generationRequests),
    generationRenders: make<GenerationRenderPayload>(QUEUES.generationRenders),
    assetFiling: make<AssetFilingPayload>(QUEUES.assetFiling),
  };
  return {
    ...queues,
    close: async () => {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}

/** Stage hand-offs: the job id is derived from the generation id, so a repeat add is a no-op. */
/** Renders may be tried up to this often; the orchestrator's JOB_MAX_ATTEMPTS decides within it. */
export const RENDER_ATTEMPTS_CEILING = 50;

export function enqueueRender(queues: PipelineQueues, generationId: string, priority: Priority, correlationId?: string) {
  return queues.generationRenders.add(
    JOB_NAMES.generationRenders,
    { schemaVersion: 1, generationId, correlationId },
    { jobId: stageJobId.generationRenders(generationId), priority: PRIORITY_RANK[priority], attempts: RENDER_ATTEMPTS_CEILING },
  );
}

export function enqueueFiling(queues: PipelineQueues, generationId: string, correlationId?: string) {
  return queues.assetFiling.add(
    JOB_NAMES.assetFiling,
    { schemaVersion: 1, generationId, correlationId },
    { jobId: stageJobId.assetFiling(generationId) },
  );
}

export function enqueueRequest(queues: PipelineQueues, payload: GenerationRequestPayload) {
  return queues.generationRequests.add(JOB_NAMES.generationRequests, payload, {
    jobId: payload.generationId ? stageJobId.generationRequests(payload.generationId) : undefined,
    priority: PRIORITY_RANK[payload.priority],
  });
}
