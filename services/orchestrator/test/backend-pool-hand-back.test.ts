import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { StageDeferredError } from '@anime/pipeline';
import { createTestDatabase, waitFor, type TestDatabase } from '@anime/testing';
import { BackendPool, type BackendLease } from '../src/domain/backend-pool';
import { HAND_BACK_FIRST_DELAY_MS } from '../src/domain/backends/handed-back-jobs';

/**
 * Jobs that may be handed back (acquire's `handBackAs`) wait for a place on a full backend only as
 * many as it has places; the next one is refused with StageDeferredError (the stage worker delays it
 * in Redis, freeing its worker slot), unless it is more urgent than one waiting, which is refused in
 * its place. Once a place comes free and a waiting job takes it, a handed-back job is promoted.
 */
describe('BackendPool: jobs handed back for want of a place to wait for (pool in-process, simulator, PostgreSQL)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let pool: BackendPool;

  beforeAll(async () => {
    database = await createTestDatabase('pool-hand-back');
    db = createDb(database.url, { max: 3 });
    simulator = await startSimulator({ stepMs: 1 });
    // One place (BACKEND_PREFETCH 0): one job may wait for it.
    pool = new BackendPool({ urls: [simulator.url], db, log: createLogger('orchestrator', 'error'), prefetch: 0 });
    await pool.start();
  });

  afterAll(async () => {
    await pool?.close();
    await simulator?.close();
    await db?.$disconnect();
    await database?.drop();
  });

  const needs = { loras: [], nodeClasses: [] };
  const acquire = (rank: number, handBackAs?: string) => pool.acquire(needs, { deadlineAt: Date.now() + 30_000, limitS: 30, rank, handBackAs });
  const refused = async (lease: Promise<BackendLease>) => {
    const error = await lease.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StageDeferredError);
    return error as StageDeferredError;
  };
  const concurrency = () => pool.renderConcurrency.current();

  it('when a job comes past the one waiting for the full backend, then it is handed back, a more urgent one takes the wait of a less urgent one, and a place taken promotes the job handed back', async () => {
    const held = await acquire(5);
    const batch = acquire(10, 'batch-1');
    const got: string[] = [];
    void batch.then(() => got.push('batch-1'), () => undefined);
    await waitFor(() => concurrency() === 2 || null, 'the batch job to wait (a worker slot of its own)');

    // Same rank: it goes back to its queue, delayed, and the slots stay as they were.
    const second = await refused(acquire(10, 'batch-2'));
    expect(second.delayMs).toBe(HAND_BACK_FIRST_DELAY_MS);
    const promoted: string[] = [];
    second.onDelayed!({ promote: async () => void promoted.push('batch-2') });
    expect(concurrency()).toBe(2);

    // More urgent: it waits, and the batch job waiting is handed back in its place.
    const interactive = acquire(1, 'interactive');
    const evicted = await refused(batch);
    expect(evicted.message).toMatch(/more urgent/);
    evicted.onDelayed!({ promote: async () => void promoted.push('batch-1') });
    expect(concurrency()).toBe(2);

    // Handed back again, its delay doubles.
    expect((await refused(acquire(10, 'batch-2'))).delayMs).toBe(2 * HAND_BACK_FIRST_DELAY_MS);

    // One that may not be handed back (its attempt began) waits past the count, as before.
    const failover = acquire(10);
    await waitFor(() => concurrency() === 2 || null, 'the failover job to wait, counted');

    held.release();
    const lease = await interactive;
    // The interactive job took the place; the failover job still waits for the next: none is promoted yet.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(promoted).toEqual([]);
    lease.release();
    const last = await failover;
    // The failover job took the place: no job waits for the next, and the first handed back (of the most urgent) is promoted for it, once.
    await waitFor(() => promoted.length > 0 || null, 'a job handed back to be promoted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(promoted).toEqual(['batch-1']);
    expect(got).toEqual([]);
    last.release();
  }, 30_000);

  it('when a job back on its own delay finds a place to wait that a job handed back before it (as urgent) could take, then it goes back again and that one is promoted: the first handed back goes first', async () => {
    // A pool of its own: no job of the test above counts as on its way.
    const own = new BackendPool({ urls: [simulator.url], db, log: createLogger('orchestrator', 'error'), prefetch: 0 });
    await own.start();
    try {
      const take = (rank: number, handBackAs?: string, signal?: AbortSignal) => own.acquire(needs, { deadlineAt: Date.now() + 30_000, limitS: 30, rank, handBackAs, signal });
      const held = await take(5);
      const leaving = new AbortController();
      const waiting = take(20, 'waiting', leaving.signal);
      await waitFor(() => own.renderConcurrency.current() === 2 || null, 'a job to wait for the place');
      const promoted: string[] = [];
      for (const key of ['first', 'second']) (await refused(take(20, key))).onDelayed!({ promote: async () => void promoted.push(key) });
      // The waiting job stops waiting: its place to wait is free until the pool tops it up (in the same turn, before any promotion).
      leaving.abort(new Error('canceled'));
      await waiting.catch(() => undefined);
      // 'second' comes back on its own delay first. Before: it took the place to wait, ahead of 'first', which stayed delayed.
      const tookTheWait = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('it took the place to wait')), 2_000).unref());
      const again = await refused(Promise.race([take(20, 'second'), tookTheWait]));
      expect(again.message).toMatch(/handed back before it go first/);
      again.onDelayed!({ promote: async () => void promoted.push('second') });
      await waitFor(() => promoted.length > 0 || null, 'a job handed back to be promoted');
      expect(promoted).toEqual(['first']);
      held.release();
    } finally {
      await own.close();
    }
  }, 30_000);
});
