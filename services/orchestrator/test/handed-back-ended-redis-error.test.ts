import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createPipelineQueues, createRedis, type PipelineQueues } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { BackendPool } from '../src/domain/backend-pool';
import { SharedHandBacks } from '../src/domain/backends/shared-hand-backs';

/**
 * A render job whose generation was canceled while it was handed back ends in its stage's settle,
 * which takes it out of the shared lines (handedBackEnded). The lines are a convenience (a job in
 * them that ended is dropped once reached, and a line expires): a Redis error there must not make
 * the settle throw, which fails the job's attempt (retried, then failed in BullMQ) instead of ending it.
 */
describe('BackendPool.handedBackEnded while the shared lines cannot be reached (simulator, Redis, PostgreSQL)', () => {
  const queuePrefix = uniqueQueuePrefix('rvo-ended');
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let redis: Redis;
  let queues: PipelineQueues;
  let pool: BackendPool | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('rvo-ended');
    db = createDb(database.url, { max: 3 });
    simulator = await startSimulator({ stepMs: 1 });
    redis = createRedis(TEST_REDIS_URL);
    queues = createPipelineQueues(redis, queuePrefix, {}, createLogger('rvo-ended-test', 'error'));
  });

  afterAll(async () => {
    await pool?.close();
    await queues?.close();
    await redis?.quit();
    await simulator?.close();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  it('when the Redis call that takes a canceled job out of the lines fails, then handedBackEnded still resolves (the failure logged)', async () => {
    // The lines' own connection, closed: every call on it fails as a Redis outage or reset does.
    const broken = createRedis(TEST_REDIS_URL);
    await broken.quit();
    const warnings: string[] = [];
    const log = createLogger('orchestrator', 'warn');
    for (const transport of log.transports) transport.silent = true;
    log.on('data', (line: { level: string; message: string }) => void (line.level === 'warn' && warnings.push(line.message)));
    const shared = new SharedHandBacks({ redis: broken, queue: queues.byKey.generationRenders, queuePrefix, urls: [simulator.url] });
    pool = new BackendPool({ urls: [simulator.url], db, log, prefetch: 0, probeEveryMs: 60_000, shared });
    await pool.start();

    // Before: it rejected with the Redis error ("Connection is closed."), and the settle threw it.
    await expect(pool.handedBackEnded(`render-${randomUUID()}`)).resolves.toBeUndefined();
    expect(warnings.some((message) => /shared lines/.test(message))).toBe(true);
  }, 30_000);
});
