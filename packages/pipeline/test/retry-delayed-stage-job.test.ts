import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { PIPELINE_CATALOG } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix } from '@anime/testing';
import { createRedis } from '../src/redis';
import { createPipelineQueues, type PipelineQueues } from '../src/queues';

/**
 * A render job handed back to its queue (the orchestrator's StageDeferredError: delayed up to 30 s,
 * promoted only by the process that handed it back as a place comes free) outlives the cancel of its
 * generation. A retry of that generation keeps the job (it runs the re-opened generation), and must
 * not leave it to wait out the earlier run's delay while the backends sit idle.
 */
describe('enqueueStage of a retried generation whose stage job of the earlier run is delayed (Redis)', () => {
  const queuePrefix = uniqueQueuePrefix('retry-delayed');
  let redis: Redis;
  let queues: PipelineQueues;

  beforeAll(() => {
    redis = createRedis(TEST_REDIS_URL);
    queues = createPipelineQueues(redis, queuePrefix, {}, createLogger('retry-delayed-test', 'error'));
  });

  afterAll(async () => {
    await queues?.close();
    await redis?.quit();
    await removeQueueKeys(queuePrefix);
  });

  it('when a canceled generation whose render job was handed back (delayed 30 s) is retried, then that job runs now: it is no longer delayed, and it is the only one', async () => {
    const generation = { id: randomUUID(), stage: 'resolved' as const, priority: 'batch', correlationId: null };
    const jobId = PIPELINE_CATALOG.generationRenders.jobId({ schemaVersion: 1, generationId: generation.id } as never)!;
    const renders = queues.byKey.generationRenders;
    // As the orchestrator left it: handed back, delayed 30 s (HAND_BACK_MAX_DELAY_MS).
    await queues.enqueue('generationRenders', { schemaVersion: 1, generationId: generation.id }, { priority: 'batch', delayMs: 30_000 });
    expect(await renders.getJobState(jobId)).toBe('delayed');

    await queues.enqueueStage(generation, { replaceFinished: true });

    // Before: still 'delayed' — the retried generation waited up to 30 s with its backend idle.
    expect(['waiting', 'prioritized']).toContain(await renders.getJobState(jobId));
    expect(await renders.getJobCounts('delayed', 'waiting', 'prioritized')).toEqual({ delayed: 0, waiting: 0, prioritized: 1 });
  });
});
