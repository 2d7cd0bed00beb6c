import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ComfyUnreachableError } from '@anime/comfyui-client';
import { PIPELINE_CATALOG } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import type { GenerationRow } from '../src/lifecycle/load-generation';
import { createRedis } from '../src/redis';
import { startWorkerService, type RunningService } from '../src/worker-service';

const log = createLogger('stage-job-error-credentials-test', 'error');
const url = 'http://render:s3cret@gpu-1:8188';

/**
 * bull-board shows a job's failedReason and stacktrace. Between tries of a transient fault they are
 * the stage's own error, whose message may name a backend by its URL (COMFYUI_URLS may hold a password).
 */
describe('a stage job failing a try with an error that names a backend URL with credentials', () => {
  const queuePrefix = uniqueQueuePrefix('stage-error-credentials');
  let database: TestDatabase;
  let redis: Redis;
  let queue: Queue;
  let service: RunningService;

  beforeAll(async () => {
    database = await createTestDatabase('stage-error-credentials');
    redis = createRedis(TEST_REDIS_URL);
    queue = new Queue(PIPELINE_CATALOG.assetFiling.name, { connection: redis, prefix: queuePrefix });
    service = await startWorkerService({
      service: 'file-organizer',
      opsPort: 0,
      databaseUrl: database.url,
      redisUrl: TEST_REDIS_URL,
      queuePrefix,
      log,
      build: async () => ({
        handlers: {
          assetFiling: {
            // A generation awaiting its filing, so the stage runs.
            load: async (id) => ({ id, status: 'running', stage: 'rendered' }) as unknown as GenerationRow,
            run: async () => {
              throw new ComfyUnreachableError(`backend ${url} went down: socket closed`);
            },
          },
        },
      }),
    });
  });

  afterAll(async () => {
    await service?.stop();
    await queue?.close();
    redis?.disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  it('when the try fails with tries left, then the job waits for its retry (delayed), and its failedReason and stacktrace show the credentials as ***', async () => {
    const added = await queue.add('fileOutputs', { schemaVersion: 1, generationId: randomUUID() }, { attempts: 3, backoff: { type: 'fixed', delay: 60_000 } });
    await waitFor(async () => (await queue.getJob(added.id!))?.attemptsMade === 1, 'the first try to fail', 10_000);
    const job = (await queue.getJob(added.id!))!;
    // Still the transient fault BullMQ retries, not turned into a failure.
    expect(await queue.getJobState(added.id!)).toBe('delayed');
    expect(job.failedReason).toBe('backend http://***@gpu-1:8188 went down: socket closed');
    expect(job.stacktrace?.[0]).toMatch(/^ComfyUnreachableError: backend http:\/\/\*\*\*@gpu-1:8188 went down/);
    const stored = await redis.hgetall(`${queuePrefix}:${PIPELINE_CATALOG.assetFiling.name}:${added.id}`);
    expect(stored.failedReason).toBe(job.failedReason);
    expect(JSON.stringify(stored)).not.toContain('s3cret');
  });
});
