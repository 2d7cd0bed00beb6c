import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PIPELINE_CATALOG } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { createRedis } from '../src/redis';
import { startWorkerService, type RunningService } from '../src/worker-service';

/**
 * Other systems add jobs with a plain `Queue.add` (README "For systems that produce onto the
 * queues" asks for a name, a payload and a jobId, nothing about removal): BullMQ keeps a job added
 * without removeOnComplete / removeOnFail for ever, unless the worker says otherwise. The consumer's
 * worker applies QUEUE_KEEP_COMPLETED_S / QUEUE_KEEP_FAILED_S to them too, so Redis does not grow
 * with every message a producer ever sent.
 */
describe("finished jobs a producer added without removal options", () => {
  const queuePrefix = uniqueQueuePrefix('producer-retention');
  let database: TestDatabase;
  let db: Db;
  let redis: Redis;
  let queue: Queue;
  let service: RunningService;
  let completedGeneration: string;

  beforeAll(async () => {
    database = await createTestDatabase('producer-retention');
    db = createDb(database.url, { max: 2 });
    // Over already: a job for it completes as a no-op ('already completed').
    [{ id: completedGeneration }] = await db.$queryRawUnsafe<{ id: string }[]>(
      `INSERT INTO generation_jobs (id, status, stage, request, project, episode, scene, "updatedAt")
       VALUES (gen_random_uuid(), 'completed', 'filed', '{}'::jsonb, 'default', 'ep00', 'sc000', now()) RETURNING id`,
    );
    redis = createRedis(TEST_REDIS_URL);
    // A producer's own queue object: no defaultJobOptions.
    queue = new Queue(PIPELINE_CATALOG.assetFiling.name, { connection: redis, prefix: queuePrefix });
    service = await startWorkerService({
      service: 'file-organizer',
      opsPort: 0,
      databaseUrl: database.url,
      redisUrl: TEST_REDIS_URL,
      queuePrefix,
      log: createLogger('producer-retention-test', 'error'),
      queueSettings: { keep: { completedS: 1, failedS: 1 } },
      build: async () => ({ handlers: { assetFiling: { run: async () => ({ outcome: 'unused' }) } } }),
    });
  });

  afterAll(async () => {
    await service?.stop();
    await queue?.close();
    redis?.disconnect();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  const addBoth = async () => [
    (await queue.add('fileOutputs', { schemaVersion: 1, generationId: completedGeneration })).id!,
    // Refused (not a valid message): fails at once.
    (await queue.add('fileOutputs', { schemaVersion: 1, generationId: 'not-a-uuid', junk: randomUUID() })).id!,
  ];
  const finished = async (ids: string[]) => (await Promise.all(ids.map((id) => queue.getJobState(id)))).join(',');

  it('when later jobs finish past QUEUE_KEEP_COMPLETED_S / QUEUE_KEEP_FAILED_S, then the earlier completed and failed ones are removed from Redis', async () => {
    const first = [...(await addBoth()), ...(await addBoth())];
    await waitFor(async () => (await finished(first)) === 'completed,failed,completed,failed', 'the first jobs to finish', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const later = await addBoth();
    await waitFor(async () => (await finished(later)) === 'completed,failed', 'the later jobs to finish', 10_000);
    expect(await Promise.all(first.map((id) => queue.getJob(id)))).toEqual([undefined, undefined, undefined, undefined]);
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 1 });
  }, 30_000);
});
