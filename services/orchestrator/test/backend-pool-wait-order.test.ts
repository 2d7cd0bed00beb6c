import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { BackendPool, type BackendLease } from '../src/domain/backend-pool';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Jobs of one rank waiting for a place get it in the order they began to wait. Each waiting job
 * also looks again on its own every probe period: that look must not send it behind the jobs that
 * began waiting after it.
 */
describe('BackendPool: waiting jobs of one rank (pool in-process, simulator, PostgreSQL)', () => {
  const PERIOD_MS = 600;
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let pool: BackendPool;
  let release!: () => void;

  beforeAll(async () => {
    database = await createTestDatabase('pool-wait-order');
    db = createDb(database.url, { max: 3 });
    simulator = await startSimulator({ stepMs: 1 });
    // One place (BACKEND_PREFETCH 0).
    pool = new BackendPool({ urls: [simulator.url], db, log: createLogger('orchestrator', 'error'), prefetch: 0, probeEveryMs: PERIOD_MS });
    await pool.start();
  });

  afterAll(async () => {
    release?.();
    await pool?.close();
    await simulator?.close();
    await db?.$disconnect();
    await database?.drop();
  });

  it('when a job begins to wait after others have looked again on their own, then the place that comes free still goes to the first to wait', async () => {
    const needs = { loras: [], nodeClasses: [] };
    const acquire = () => pool.acquire(needs, { deadlineAt: Date.now() + 30_000, limitS: 30, rank: 2 });
    const held = await acquire();
    // The probes held (and no other backend change): the waiting jobs look again only on their own timers.
    simulator.misbehave({ kind: 'held', path: '/system_stats', until: new Promise<void>((resolve) => (release = resolve)) });
    await sleep(PERIOD_MS);
    const got: string[] = [];
    const waiting = (name: string) => acquire().then((lease: BackendLease) => (got.push(name), lease));
    const first = waiting('first');
    await sleep(20);
    const second = waiting('second');
    // After half a period (before the first two look again), a third begins to wait.
    await sleep(PERIOD_MS / 2);
    const third = waiting('third');
    // The first two have looked again on their own (a period after they began), the third not yet.
    await sleep(PERIOD_MS / 2 + 100);
    held.release();
    const firstLease = await Promise.race([first, second, third]);
    expect(got).toEqual(['first']);
    firstLease.release();
    const secondLease = await Promise.race([second, third]);
    expect(got).toEqual(['first', 'second']);
    secondLease.release();
    (await third).release();
  }, 30_000);
});
