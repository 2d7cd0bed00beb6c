import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createPipelineQueues, createRedis, StageDeferredError, type PipelineQueues } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { BackendPool, type BackendLease } from '../src/domain/backend-pool';
import { SharedHandBacks } from '../src/domain/backends/shared-hand-backs';

/**
 * Two orchestrators sharing the render queue but not every backend: the first has ComfyUI X and Y,
 * the second only X. A job the first handed back for either joins both lines; taken by the second,
 * it must leave both, not only the line of the backend the second knows.
 */
describe('SharedHandBacks across processes configured with different backends (two pools in-process, two simulators, Redis, PostgreSQL)', () => {
  const queuePrefix = uniqueQueuePrefix('hand-backs-urls');
  let database: TestDatabase;
  let db: Db;
  let x: Simulator;
  let y: Simulator;
  let redis: Redis;
  let queues: PipelineQueues;
  const pools: BackendPool[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('hand-backs-urls');
    db = createDb(database.url, { max: 3 });
    [x, y] = await Promise.all([startSimulator({ stepMs: 1 }), startSimulator({ stepMs: 1 })]);
    redis = createRedis(TEST_REDIS_URL);
    queues = createPipelineQueues(redis, queuePrefix, {}, createLogger('hand-backs-urls-test', 'error'));
  });

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    await queues?.close();
    await redis?.quit();
    await Promise.all([x?.close(), y?.close()]);
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  const renders = () => queues.byKey.generationRenders;
  const shared = (urls: string[]) => new SharedHandBacks({ redis, queue: renders(), queuePrefix, urls });
  /** One place per backend (BACKEND_PREFETCH 0); probes far apart, so only places coming free promote. */
  const startPool = async (urls: string[]) => {
    const pool = new BackendPool({ urls, db, log: createLogger('orchestrator', 'error'), prefetch: 0, probeEveryMs: 60_000, shared: shared(urls) });
    await pool.start();
    pools.push(pool);
    return pool;
  };
  const needs = { loras: [], nodeClasses: [] };
  const acquire = (pool: BackendPool, rank: number, handBackAs?: string) => pool.acquire(needs, { deadlineAt: Date.now() + 30_000, limitS: 30, rank, handBackAs });
  const handedBack = async (lease: Promise<BackendLease>, generationId: string) => {
    const error = await lease.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StageDeferredError);
    const job = (await queues.enqueue('generationRenders', { schemaVersion: 1, generationId }, { priority: 'batch', delayMs: 10 * 60_000 })) as Job;
    (error as StageDeferredError).onDelayed!(job);
    return job.id!;
  };
  const lineOf = (url: string) => redis.zrange(shared([url]).lineOf(url), '0', '-1');

  it('when a job the first handed back for X and Y comes back in the second (X only), then it leaves the line of Y too', async () => {
    const first = await startPool([x.url, y.url]);
    const second = await startPool([x.url]);
    // The first process full on both backends: each place taken, and a job waiting for one.
    const held = [await acquire(first, 5), await acquire(first, 5)];
    const waiting = [acquire(first, 5, `render-${randomUUID()}`)];
    await waitFor(() => first.renderConcurrency.current() === 3 || null, 'a job to wait for a place in the first process');
    const generationId = randomUUID();
    const jobId = await handedBack(acquire(first, 10, `render-${generationId}`), generationId);
    await waitFor(async () => ((await lineOf(x.url)).includes(jobId) && (await lineOf(y.url)).includes(jobId)) || null, 'the job to be in the lines of X and Y');

    // It comes back in the second process, which has X free: it takes it.
    const lease = await acquire(second, 10, jobId);
    expect(await lineOf(x.url)).not.toContain(jobId);
    // Before: still in Y's line, at its old place: the first process took it for one ahead of its own
    // jobs for Y (handing them back) and promoted it for Y, where the second can never run it.
    expect(await lineOf(y.url)).not.toContain(jobId);

    lease.release();
    held.forEach((h) => h.release());
    await Promise.all(waiting.map((w) => w.then((l) => l.release())));
    await renders().remove(jobId);
  }, 30_000);
});
