import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createPipelineQueues, createRedis, StageDeferredError, type PipelineQueues } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { BackendPool, type BackendLease } from '../src/domain/backend-pool';
import { LINE_TTL_MS, SharedHandBacks } from '../src/domain/backends/shared-hand-backs';

/**
 * Two orchestrator processes (two pools) sharing Redis and the render queue: the jobs one hands
 * back join the line of their backend in Redis, and a place coming free in the other promotes the
 * first in that line, the most urgent first, then the first handed back, whichever process handed it back.
 */
describe('SharedHandBacks: jobs handed back by one process, promoted by another (two pools in-process, simulator, Redis, PostgreSQL)', () => {
  const queuePrefix = uniqueQueuePrefix('shared-hand-backs');
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let redis: Redis;
  let queues: PipelineQueues;
  const pools: BackendPool[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('shared-hand-backs');
    db = createDb(database.url, { max: 3 });
    simulator = await startSimulator({ stepMs: 1 });
    redis = createRedis(TEST_REDIS_URL);
    queues = createPipelineQueues(redis, queuePrefix, {}, createLogger('shared-hand-backs-test', 'error'));
  });

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    await queues?.close();
    await redis?.quit();
    await simulator?.close();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  const renders = () => queues.byKey.generationRenders;
  const shared = () => new SharedHandBacks({ redis, queue: renders(), queuePrefix, urls: [simulator.url] });
  /** A process's pool: one place (BACKEND_PREFETCH 0), so one job may wait for it; probes far apart, so only a place coming free promotes. */
  const startPool = async () => {
    const pool = new BackendPool({ urls: [simulator.url], db, log: createLogger('orchestrator', 'error'), prefetch: 0, probeEveryMs: 60_000, shared: shared() });
    await pool.start();
    pools.push(pool);
    return pool;
  };
  const needs = { loras: [], nodeClasses: [] };
  const acquire = (pool: BackendPool, rank: number, handBackAs?: string) => pool.acquire(needs, { deadlineAt: Date.now() + 30_000, limitS: 30, rank, handBackAs });
  /** As the stage worker does with a job refused (StageDeferredError): delayed in its queue (long, as a deep backlog makes it), then told. */
  const handedBack = async (lease: Promise<BackendLease>, generationId: string, priority: 'interactive' | 'batch') => {
    const error = await lease.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StageDeferredError);
    const job = (await queues.enqueue('generationRenders', { schemaVersion: 1, generationId }, { priority, delayMs: 10 * 60_000 })) as Job;
    (error as StageDeferredError).onDelayed!(job);
    return job.id!;
  };
  const stateOf = (jobId: string) => renders().getJobState(jobId);
  const line = () => redis.zrange(shared().lineOf(simulator.url), '0', '-1');

  it('when a place comes free in one process, then the first delayed job in line that another (still running) process handed back is promoted: the most urgent first, then the first handed back', async () => {
    const first = await startPool();
    const second = await startPool();
    // The first process: its place taken and a job (as urgent as any) waiting for it; three more handed back (batch, batch, then interactive).
    const held = await acquire(first, 5);
    const ids = { batch1: randomUUID(), batch2: randomUUID(), urgent: randomUUID() };
    const waiting = acquire(first, 1, `render-${randomUUID()}`);
    await waitFor(() => first.renderConcurrency.current() === 2 || null, 'a job to wait for the place in the first process');
    const batch1 = await handedBack(acquire(first, 10, `render-${ids.batch1}`), ids.batch1, 'batch');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const batch2 = await handedBack(acquire(first, 10, `render-${ids.batch2}`), ids.batch2, 'batch');
    const urgent = await handedBack(acquire(first, 1, `render-${ids.urgent}`), ids.urgent, 'interactive');
    await waitFor(async () => (await line()).length === 3 || null, 'the jobs handed back to be in line');
    expect(await line()).toEqual([urgent, batch1, batch2]);

    // A place comes free in the second process (the first's stays taken): the most urgent is promoted.
    (await acquire(second, 5)).release();
    // Before: no process but the first could promote them; each stayed delayed (here 10 min).
    await waitFor(async () => (await stateOf(urgent)) !== 'delayed' || null, 'the urgent job to be promoted by the second process', 2_000);
    expect([await stateOf(batch1), await stateOf(batch2)]).toEqual(['delayed', 'delayed']);
    // It comes back in the second process (leaving the line); the next place there promotes the first batch job handed back.
    (await acquire(second, 1, urgent)).release();
    await waitFor(async () => (await stateOf(batch1)) !== 'delayed' || null, 'the first batch job to be promoted', 2_000);
    expect(await stateOf(batch2)).toBe('delayed');
    expect(await line()).toEqual([batch1, batch2]);
    // Back in the second process, whose place is taken meanwhile, it waits for it (leaving the line), until a
    // more urgent job takes its wait: handed back by a process that never handed it back before, it keeps
    // the place in line it had, ahead of batch2.
    const heldInSecond = await acquire(second, 5);
    const batch1Back = acquire(second, 10, batch1);
    await waitFor(() => second.renderConcurrency.current() === 2 || null, 'batch1 to wait for the place in the second process');
    expect(await line()).toEqual([batch2]);
    const urgentInSecond = acquire(second, 1, `render-${randomUUID()}`);
    await handedBack(batch1Back, ids.batch1, 'batch');
    await waitFor(async () => (await line()).length === 2 || null, 'batch1 to be in line again');
    expect(await line()).toEqual([batch1, batch2]);

    held.release();
    heldInSecond.release();
    (await waiting).release();
    (await urgentInSecond).release();
    await Promise.all([batch1, batch2].map((id) => renders().remove(id)));
    await redis.del(shared().lineOf(simulator.url));
  }, 30_000);

  it('when a job in line ended without coming back (removed, canceled), then it is dropped as the line is read, and no line outlives the longest delay', async () => {
    const pool = await startPool();
    const held = await acquire(pool, 5);
    const waiting = acquire(pool, 10, `render-${randomUUID()}`);
    await waitFor(() => pool.renderConcurrency.current() === 2 || null, 'a job to wait for the place');
    const gone = randomUUID();
    const goneId = await handedBack(acquire(pool, 10, `render-${gone}`), gone, 'batch');
    await waitFor(async () => (await line()).includes(goneId) || null, 'the job to be in line');
    const ttl = await redis.pttl(shared().lineOf(simulator.url));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LINE_TTL_MS);
    await renders().remove(goneId);
    // The place comes free: the line is read, the removed job dropped, nothing promoted.
    held.release();
    await waitFor(async () => !(await line()).includes(goneId) || null, 'the removed job to leave the line', 2_000);
    await waiting.then((lease) => lease.release());
    expect(await redis.exists(shared().lineOf(simulator.url))).toBe(0);
  }, 30_000);
});
