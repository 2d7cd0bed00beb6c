import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { StageDeferredError } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import type { BackendLease, BackendPool } from '../src/domain/backend-pool';
import { startBackendPoolsFixture, type BackendPoolsFixture } from './backend-pools-fixture';

/**
 * A render job's first hand-back is one info line ("stage job deferred to its queue", at the level
 * its StageDeferredError carries), the hand-backs of it that follow, by any process, at debug. Which
 * one is first was read from BullMQ's count of the job's starts, which a retry, a stall (the process
 * holding it died) or a wait for PostgreSQL raises too: a job started twice for any of those was
 * taken for one handed back before, and its first hand-back went to debug, so an operator at info
 * never saw that it waits in the queue. Now a hand-back is first unless the job is back from one: it
 * was in the shared lines (any process put it there as it handed it back), or, when they cannot
 * answer, this process handed it back and it has had no place since.
 */
describe('the first hand-back of a render job, after a retry or a stall too (two pools in-process, simulator, Redis, PostgreSQL)', () => {
  let fx: BackendPoolsFixture;
  const leases: Promise<BackendLease>[] = [];

  beforeAll(async () => {
    fx = await startBackendPoolsFixture('logG-first-hand-back');
  });

  afterAll(async () => {
    for (const lease of leases) (await lease).release();
    await fx?.close();
  });

  const needs = { loras: [], nodeClasses: [] };
  /** What the render processor passes for a queue job BullMQ started `starts` times (attemptsStarted). */
  const asStarted = (starts: number) => ({ returning: starts > 1, handedBackBefore: Math.max(0, starts - 1) });
  const acquire = (pool: BackendPool, rank: number, key?: string, starts = 1) => pool.acquire(needs, { deadlineAt: Date.now() + 30_000, limitS: 30, rank, handBackAs: key, jobId: key, ...asStarted(starts) });

  /** A process (pool) with one place (BACKEND_PREFETCH 0), taken, and a job waiting for it: the next job of a key is handed back. */
  const fullPool = async (shared: boolean) => {
    const pool = await fx.startPool(shared ? {} : { shared: null });
    leases.push(acquire(pool, 5));
    await waitFor(() => pool.renderConcurrency.current() === 1 || null, 'the place to be taken');
    leases.push(acquire(pool, 5, `render-${randomUUID()}`));
    await waitFor(() => pool.renderConcurrency.current() === 2 || null, 'a job to wait for the place');
    return pool;
  };

  /** The job of `generationId`, started `starts` times, handed back by `pool`: the level of its line. Delayed in its queue (and so put in the shared lines), as the stage worker does. */
  const handBack = async (pool: BackendPool, generationId: string, starts: number) => {
    const error = await acquire(pool, 10, `render-${generationId}`, starts).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StageDeferredError);
    const job = (await fx.renders().getJob(`render-${generationId}`)) ?? ((await fx.queues.enqueue('generationRenders', { schemaVersion: 1, generationId }, { priority: 'batch', delayMs: 10 * 60_000 })) as Job);
    (error as StageDeferredError).onDelayed!(job);
    return (error as StageDeferredError).logAt;
  };
  /** Whether the job `key` is in the shared line of the backend (null when not, for waitFor). */
  const inLine = (key: string) => async () => (await fx.redis.zscore(fx.shared().lineOf(fx.simulators[0].url), key)) !== null || null;

  it('when a job retried (or put back by the stall check) before it was ever handed back is handed back, then that first hand-back is at info; its next ones, by this process or another, at debug; and after a place and a retry, its first again at info', async () => {
    const first = await fullPool(true);
    const second = await fullPool(true);
    const id = randomUUID();
    // Started twice: its first try failed (transient) and it was retried, or the process holding it died.
    // Before: debug (its second start was taken for a return from a hand-back).
    expect(await handBack(first, id, 2)).toBe('info');
    await waitFor(inLine(`render-${id}`), 'the job to be in the shared line');
    // Back on its delay, in another process and then this one: handed back again, at debug.
    expect(await handBack(second, id, 3)).toBe('debug');
    await waitFor(inLine(`render-${id}`), 'the job to be in the shared line again');
    expect(await handBack(first, id, 4)).toBe('debug');
    await waitFor(inLine(`render-${id}`), 'the job to be in the shared line again');
    // It comes back to a process with room (it leaves the line), gets a place, fails on it, and is retried.
    const roomy = await fx.startPool();
    (await acquire(roomy, 10, `render-${id}`, 5)).release();
    expect(await inLine(`render-${id}`)()).toBeNull();
    // Before: debug (started 6 times).
    expect(await handBack(first, id, 6)).toBe('info');
  }, 30_000);

  it('without the shared lines, then a job retried before it was ever handed back is at info on its first hand-back, and at debug when it comes back to be handed back again', async () => {
    const pool = await fullPool(false);
    const id = randomUUID();
    // Before: debug.
    expect(await handBack(pool, id, 2)).toBe('info');
    expect(await handBack(pool, id, 3)).toBe('debug');
  }, 30_000);
});
