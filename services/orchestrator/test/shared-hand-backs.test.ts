import { randomUUID } from 'node:crypto';
import { waitFor } from '@anime/testing';
import type { BackendPool } from '../src/domain/backend-pool';
import { LINE_TTL_MS } from '../src/domain/backends/shared-hand-backs';
import { startBackendPoolsFixture, type BackendPoolsFixture } from './backend-pools-fixture';

/**
 * Two orchestrator processes (two pools) sharing Redis and the render queue: the jobs one hands
 * back join the line of their backend in Redis, and a place coming free in the other promotes the
 * first in that line, the most urgent first, then the first handed back, whichever process handed it back.
 */
describe('SharedHandBacks: jobs handed back by one process, promoted by another (two pools in-process, simulator, Redis, PostgreSQL)', () => {
  let fx: BackendPoolsFixture;

  beforeAll(async () => {
    fx = await startBackendPoolsFixture('shared-hand-backs');
  });

  afterAll(() => fx?.close());

  const needs = { loras: [], nodeClasses: [] };
  const acquire = (pool: BackendPool, rank: number, handBackAs?: string) => pool.acquire(needs, { deadlineAt: Date.now() + 30_000, limitS: 30, rank, handBackAs });
  const stateOf = (jobId: string) => fx.renders().getJobState(jobId);
  const lineKey = () => fx.shared().lineOf(fx.simulators[0].url);
  const line = () => fx.redis.zrange(lineKey(), '0', '-1');

  it('when a place comes free in one process, then the first delayed job in line that another (still running) process handed back is promoted: the most urgent first, then the first handed back', async () => {
    const first = await fx.startPool();
    const second = await fx.startPool();
    // The first process: its place taken and a job (as urgent as any) waiting for it; three more handed back (batch, batch, then interactive).
    const held = await acquire(first, 5);
    const ids = { batch1: randomUUID(), batch2: randomUUID(), urgent: randomUUID() };
    const waiting = acquire(first, 1, `render-${randomUUID()}`);
    await waitFor(() => first.renderConcurrency.current() === 2 || null, 'a job to wait for the place in the first process');
    const batch1 = await fx.handedBack(acquire(first, 10, `render-${ids.batch1}`), ids.batch1, 'batch');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const batch2 = await fx.handedBack(acquire(first, 10, `render-${ids.batch2}`), ids.batch2, 'batch');
    const urgent = await fx.handedBack(acquire(first, 1, `render-${ids.urgent}`), ids.urgent, 'interactive');
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
    await fx.handedBack(batch1Back, ids.batch1, 'batch');
    await waitFor(async () => (await line()).length === 2 || null, 'batch1 to be in line again');
    expect(await line()).toEqual([batch1, batch2]);

    held.release();
    heldInSecond.release();
    (await waiting).release();
    (await urgentInSecond).release();
    await Promise.all([batch1, batch2].map((id) => fx.renders().remove(id)));
    await fx.redis.del(lineKey());
  }, 30_000);

  it('when a job in line ended without coming back (removed, canceled), then it is dropped as the line is read, and no line outlives the longest delay', async () => {
    const pool = await fx.startPool();
    const held = await acquire(pool, 5);
    const waiting = acquire(pool, 10, `render-${randomUUID()}`);
    await waitFor(() => pool.renderConcurrency.current() === 2 || null, 'a job to wait for the place');
    const gone = randomUUID();
    const goneId = await fx.handedBack(acquire(pool, 10, `render-${gone}`), gone, 'batch');
    await waitFor(async () => (await line()).includes(goneId) || null, 'the job to be in line');
    const ttl = await fx.redis.pttl(lineKey());
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LINE_TTL_MS);
    await fx.renders().remove(goneId);
    // The place comes free: the line is read, the removed job dropped, nothing promoted.
    held.release();
    await waitFor(async () => !(await line()).includes(goneId) || null, 'the removed job to leave the line', 2_000);
    await waiting.then((lease) => lease.release());
    expect(await fx.redis.exists(lineKey())).toBe(0);
  }, 30_000);
});
