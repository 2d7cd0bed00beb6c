import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * Jobs that only a busy backend can run, more of them than every backend's places, must not take
 * the worker slots of the jobs queued behind them that another backend could run: that backend
 * would sit idle until the busy one's backlog drained. The jobs past what may wait for a place go
 * back to Redis instead, and come again once a place is near.
 */
describe('head-of-line blocking of render jobs (orchestrator in-process, a slow and a fast simulator with different models)', () => {
  let fx: OrchestratorFixture;
  let db: Db;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('head-of-line', {
      simulators: [{ stepMs: 250, checkpoints: ['alpha.safetensors'] }, { stepMs: 20, checkpoints: ['beta.safetensors'] }],
      env: { BACKEND_PREFETCH: '1', JOB_TIMEOUT_S: '8' },
    });
    ({ db } = fx);
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('when a backlog only the slow backend can run (deeper than every backend’s places) is queued ahead of jobs for the fast one, then the fast one renders them at once, and the backlog still renders in full with none timing out', async () => {
    const [alpha, beta] = fx.simulators;
    // 14 jobs of 2 s each for alpha (28 s in all, far past JOB_TIMEOUT_S): 4 places in all backends, 2 in alpha.
    const backlog: string[] = [];
    for (let i = 0; i < 14; i++) backlog.push(await fx.resolvedGeneration({ prompt: `alpha ${i}`, steps: 8 }, { checkpoint: 'alpha.safetensors' }));
    const queuedAt = Date.now();
    const forBeta = [
      await fx.resolvedGeneration({ prompt: 'beta after the backlog', steps: 2 }, { checkpoint: 'beta.safetensors' }),
      await fx.resolvedGeneration({ prompt: 'beta after the backlog, two', steps: 2 }, { checkpoint: 'beta.safetensors' }),
    ];
    // Before this, alpha's backlog held every render slot: beta's jobs waited for it to drain to a few jobs (about 14 s).
    const betaRows = await waitFor(async () => {
      const rows = await db.generationJob.findMany({ where: { id: { in: forBeta } } });
      return rows.every((r) => r.stage === 'rendered') ? rows : null;
    }, 'the beta jobs to render while alpha works through its backlog', 20_000);
    expect(Date.now() - queuedAt).toBeLessThan(5_000);
    expect(betaRows.map((r) => r.backend)).toEqual([beta.url, beta.url]);

    const rows = await waitFor(async () => {
      const found = await db.generationJob.findMany({ where: { id: { in: backlog } }, include: { attempts: true } });
      return found.every((g) => g.stage === 'rendered' || g.status === 'failed') ? found : null;
    }, 'the backlog to render', 90_000);
    expect(rows.filter((g) => g.status === 'failed').map((g) => g.errorCode)).toEqual([]);
    expect(new Set(rows.map((g) => g.backend))).toEqual(new Set([alpha.url]));
    // Each rendered once, in one attempt: none was submitted twice for being handed back.
    expect(rows.map((g) => g.attempts.length)).toEqual(backlog.map(() => 1));
    expect(alpha.received.length).toBe(backlog.length);
    // Handed back and taken again a bounded number of times (a place coming free promotes one; its delay doubles), not in a loop.
    const metrics = await (await fetch(`http://127.0.0.1:${fx.service.ops.port()}/metrics`)).text();
    const deferred = metrics.split('\n').filter((line) => line.startsWith('anime_job_duration_seconds_count{') && line.includes('outcome="deferred"'));
    const handBacks = deferred.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(handBacks).toBeGreaterThan(0);
    expect(handBacks).toBeLessThan(backlog.length * 6);
    // Each generation's story is the plain one: queued, submitted, started, nothing in between.
    const events = await db.jobEvent.findMany({ where: { jobId: { in: backlog } }, orderBy: { seq: 'asc' } });
    for (const id of backlog) {
      const types = events.filter((e) => e.jobId === id).map((e) => e.type).filter((t) => t !== 'job:progress');
      expect(types).toEqual(['job:queued', 'job:submitted', 'job:started']);
    }
  }, 120_000);

  /** The state of a generation's render job in Redis. */
  const renderJobState = async (id: string) => (await fx.service.ctx.queues.byKey.generationRenders.getJob(`render-${id}`))?.getState();
  const backlogFor = async (label: string, count: number) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(await fx.resolvedGeneration({ prompt: `${label} ${i}`, steps: 3 }, { checkpoint: 'alpha.safetensors' }));
    return ids;
  };
  const settled = (ids: string[]) =>
    waitFor(async () => {
      const found = await db.generationJob.findMany({ where: { id: { in: ids } }, include: { attempts: true } });
      // Rendered (no file organizer here: it stays running at that stage), canceled or failed.
      return found.every((g) => g.stage === 'rendered' || g.status === 'canceled' || g.status === 'failed') ? found : null;
    }, 'the backlog to settle', 60_000);

  it('when a job handed back to its queue is canceled (as the gateway cancels a queued one), then it stays canceled, is never submitted, and its queue job ends without failing once it comes back', async () => {
    const [alpha] = fx.simulators;
    const backlog = await backlogFor('cancel', 8);
    const last = backlog.at(-1)!;
    await waitFor(async () => (await renderJobState(last)) === 'delayed' || null, 'the last job of the backlog to be handed back', 10_000);
    expect(await fx.lifecycle.cancelAtOnce(last)).not.toBeNull();

    const rows = await settled(backlog);
    expect(rows.filter((g) => g.id !== last).map((g) => g.stage)).toEqual(backlog.slice(0, -1).map(() => 'rendered'));
    expect(rows.find((g) => g.id === last)).toMatchObject({ status: 'canceled', stage: 'resolved', attempts: [] });
    expect(alpha.received.filter((p) => JSON.stringify(p.prompt).includes(last))).toEqual([]);
    await waitFor(async () => (await renderJobState(last)) === 'completed' || null, 'the canceled job to come back and end', 40_000);
    const story = await db.jobEvent.findMany({ where: { jobId: last }, orderBy: { seq: 'asc' } });
    expect(story.map((e) => e.type)).toEqual(['job:queued', 'job:canceled']);
  }, 90_000);

  it('when the orchestrator restarts while jobs are handed back, then every one still renders, once, on the backend that can run it', async () => {
    const [alpha] = fx.simulators;
    const backlog = await backlogFor('restart', 8);
    await waitFor(async () => ((await Promise.all(backlog.map(renderJobState))).filter((state) => state === 'delayed').length >= 2) || null, 'jobs of the backlog to be handed back', 10_000);
    await fx.restart();

    const rows = await settled(backlog);
    expect(rows.map((g) => [g.status, g.stage, g.backend])).toEqual(backlog.map(() => ['running', 'rendered', alpha.url]));
    expect(rows.map((g) => g.attempts.length)).toEqual(backlog.map(() => 1));
    for (const id of backlog) expect(alpha.received.filter((p) => JSON.stringify(p.prompt).includes(id)).length).toBe(1);
  }, 120_000);
});
