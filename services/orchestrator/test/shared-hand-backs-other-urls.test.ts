import { randomUUID } from 'node:crypto';
import type { Simulator } from '@anime/comfyui-simulator';
import { waitFor } from '@anime/testing';
import type { BackendPool } from '../src/domain/backend-pool';
import { startBackendPoolsFixture, type BackendPoolsFixture } from './backend-pools-fixture';

/**
 * Two orchestrators sharing the render queue but not every backend: the first has ComfyUI X and Y,
 * the second only X. A job the first handed back for either joins both lines; taken by the second,
 * it must leave both, not only the line of the backend the second knows.
 */
describe('SharedHandBacks across processes configured with different backends (two pools in-process, two simulators, Redis, PostgreSQL)', () => {
  let fx: BackendPoolsFixture;
  let x: Simulator;
  let y: Simulator;

  beforeAll(async () => {
    fx = await startBackendPoolsFixture('hand-backs-urls', { simulators: 2 });
    [x, y] = fx.simulators;
  });

  afterAll(() => fx?.close());

  /** One place per backend (BACKEND_PREFETCH 0); probes far apart, so only places coming free promote. */
  const startPool = (urls: string[]) => fx.startPool({ urls });
  const needs = { loras: [], nodeClasses: [] };
  const acquire = (pool: BackendPool, rank: number, handBackAs?: string) => pool.acquire(needs, { deadlineAt: Date.now() + 30_000, limitS: 30, rank, handBackAs });
  const lineOf = (url: string) => fx.redis.zrange(fx.shared([url]).lineOf(url), '0', '-1');

  it('when a job the first handed back for X and Y comes back in the second (X only), then it leaves the line of Y too', async () => {
    const first = await startPool([x.url, y.url]);
    const second = await startPool([x.url]);
    // The first process full on both backends: each place taken, and a job waiting for one.
    const held = [await acquire(first, 5), await acquire(first, 5)];
    const waiting = [acquire(first, 5, `render-${randomUUID()}`)];
    await waitFor(() => first.renderConcurrency.current() === 3 || null, 'a job to wait for a place in the first process');
    const generationId = randomUUID();
    const jobId = await fx.handedBack(acquire(first, 10, `render-${generationId}`), generationId);
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
    await fx.renders().remove(jobId);
  }, 30_000);
});
