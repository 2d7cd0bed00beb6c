import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { PIPELINE_CATALOG } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createTestDatabase, removeQueueKeys, startTcpProxy, TEST_POSTGRES, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TcpProxy, type TestDatabase } from '@anime/testing';
import { createRedis } from '../src/redis';
import { startWorkerService, type RunningService } from '../src/worker-service';

const redis = createRedis(TEST_REDIS_URL);
const readyz = async (service: RunningService) => {
  const response = await fetch(`http://127.0.0.1:${service.ops.port()}/readyz`);
  return { status: response.status, body: (await response.json()) as { error?: { code: string } } };
};

/**
 * A PostgreSQL that stops answering without closing its connections (a partition, a frozen host):
 * the proxy holds every byte. A stage job reading its generation then must not hang, holding its
 * BullMQ lock for as long as the partition lasts: it is deferred like any database outage.
 */
describe('a stage worker while PostgreSQL is silent', () => {
  const queuePrefix = uniqueQueuePrefix('worker-partition');
  let database: TestDatabase;
  let db: Db;
  let proxy: TcpProxy;
  let service: RunningService;
  let filing: Queue;
  let runs = 0;

  beforeAll(async () => {
    database = await createTestDatabase('worker-partition');
    db = createDb(database.url, { max: 2 });
    proxy = await startTcpProxy(TEST_POSTGRES);
    service = await startWorkerService({
      service: 'file-organizer',
      opsPort: 0,
      databaseUrl: proxy.urlFor(database.url),
      // DATABASE_QUERY_TIMEOUT_MS, shorter than its 10 s default to keep the test short.
      databaseQueryTimeoutMs: 3_000,
      redisUrl: TEST_REDIS_URL,
      queuePrefix,
      // No sweep during the test: the one job is the one added here.
      recoverEveryMs: 3_600_000,
      log: createLogger('file-organizer', 'error'),
      build: async () => ({
        handlers: {
          assetFiling: {
            run: async () => {
              runs++;
              return { outcome: 'filed by the test' };
            },
          },
        },
      }),
    });
    filing = new Queue(PIPELINE_CATALOG.assetFiling.name, { connection: redis, prefix: queuePrefix });
  });

  afterAll(async () => {
    proxy?.heal();
    await service?.stop();
    await filing?.close();
    await proxy?.close();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
    redis.disconnect();
  });

  it('when a stage job meets the silence, then it is deferred without spending a try (not held), /readyz says 503, and it runs once the database answers again', async () => {
    const [{ id: generationId }] = await db.$queryRaw<{ id: string }[]>`
      INSERT INTO generation_jobs (id, status, stage, request, project, episode, scene, "updatedAt")
      VALUES (gen_random_uuid(), 'running', 'rendered', '{}'::jsonb, 'default', 'ep00', 'sc000', now()) RETURNING id::text`;
    // Its pooled connection open (the check's SELECT 1) as the partition starts: the job's read goes to it.
    expect((await readyz(service)).status).toBe(200);
    proxy.blackHole();
    const payload = { schemaVersion: 1 as const, generationId };
    // Two quick tries: a fault counted as a try would spend both within the partition and fail the job.
    const added = await filing.add(PIPELINE_CATALOG.assetFiling.jobName, payload, {
      jobId: PIPELINE_CATALOG.assetFiling.jobId(payload) ?? randomUUID(),
      attempts: 2,
      backoff: { type: 'fixed', delay: 100 },
    });
    const deferred = await waitFor(async () => {
      const job = await filing.getJob(added.id!);
      return job && (await job.getState()) === 'delayed' ? job : null;
    }, 'the job to be deferred', 30_000);
    expect([deferred.attemptsMade, deferred.failedReason ?? null, runs]).toEqual([0, null, 0]);
    const notReady = await readyz(service);
    expect([notReady.status, notReady.body.error?.code]).toEqual([503, 'database_unavailable']);

    proxy.heal();
    const state = await waitFor(async () => ((await filing.getJobState(added.id!)) === 'completed' ? 'completed' : null), 'the job to run after the partition', 30_000);
    expect([state, runs]).toEqual(['completed', 1]);
    await waitFor(async () => (await readyz(service)).status === 200, '/readyz to answer 200 again', 10_000);
  }, 90_000);
});
