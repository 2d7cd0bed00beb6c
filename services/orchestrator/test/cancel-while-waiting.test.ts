import type { Simulator } from '@anime/comfyui-simulator';
import { PIPELINE_CATALOG } from '@anime/contracts';
import type { Db } from '@anime/db';
import { createRedis, JobControlPublisher, type JobLifecycle } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * README "Cancel": a generation in a backend is canceled by the orchestrator driving it. When that
 * backend died under the prompt and no other can take it now (drained), the job waits for one; a
 * cancel asked meanwhile must end the wait at once, not at JOB_TIMEOUT_S or when a backend returns.
 */
describe('cancel of a render waiting for a backend after its own died (in-process, two simulators)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let lifecycle: JobLifecycle;
  let alpha: Simulator;
  let beta: Simulator;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('cancel-while-waiting', { simulators: [{ stepMs: 50 }, { stepMs: 50 }] });
    ({ db, lifecycle } = fx);
    [alpha, beta] = fx.simulators;
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('when the job waits for a backend and the gateway asks to cancel it, then it is canceled within seconds and nothing is submitted elsewhere', async () => {
    await db.backend.update({ where: { id: backendIdFor(beta.url) }, data: { draining: true, drainedAt: new Date() } });
    await waitFor(async () => {
      const text = await (await fetch(`http://127.0.0.1:${fx.service.ops.port()}/metrics`)).text();
      return text.includes(`anime_backend_state{backend="${new URL(beta.url).origin}",state="draining"} 1`);
    }, 'the orchestrator to see beta draining', 10_000);

    const id = await fx.resolvedGeneration({ steps: 150 });
    await waitFor(() => db.generationJob.findFirst({ where: { id, progressValue: { gt: 0 } } }), 'the prompt to run on alpha');
    await alpha.close();
    await waitFor(() => db.backend.findFirst({ where: { id: backendIdFor(alpha.url), state: 'down' } }), 'alpha to be recorded down');
    // The failover finds no backend taking jobs: the render waits for one (JOB_TIMEOUT_S, 600 s here).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'submitted' });

    // What the gateway does for a generation in a backend: the column, then the message.
    const publisher = createRedis(TEST_REDIS_URL);
    try {
      expect(await lifecycle.requestCancel(id)).toBeTruthy();
      await new JobControlPublisher(publisher, fx.service.ctx.queuePrefix).requestCancel(id);
    } finally {
      publisher.disconnect();
    }
    const canceled = await waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id } });
      return g.status === 'canceled' ? g : null;
    }, 'the generation to be canceled', 5_000);
    expect(canceled.errorCode).toBe('canceled');
    expect(beta.received.filter((p) => JSON.stringify(p.prompt).includes(id))).toEqual([]);
  });

  it('when a queued job waits for a backend (every one draining) and the gateway cancels it at once, then its render lets go of the wait within seconds, submitting nothing', async () => {
    for (const sim of [alpha, beta]) await db.backend.updateMany({ where: { id: backendIdFor(sim.url) }, data: { draining: true, drainedAt: new Date() } });
    const id = await fx.resolvedGeneration({ steps: 2 });
    const renderJob = () => fx.service.ctx.queues.byKey.generationRenders.getJob(PIPELINE_CATALOG.generationRenders.jobId({ generationId: id })!);
    await waitFor(async () => (await (await renderJob())?.getState()) === 'active', 'the render to wait for a backend', 10_000);
    // What the gateway does for a job no backend holds: canceled in the row (cancelAtOnce), then the event; no cancel request.
    expect(await lifecycle.cancelAtOnce(id)).toBeTruthy();
    // The wait held a worker slot until a backend came back or JOB_TIMEOUT_S (600 s here) passed.
    await waitFor(async () => (await (await renderJob())?.getState()) === 'completed', 'the render to let go of its wait', 8_000);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'canceled', promptId: null });
    expect([...alpha.received, ...beta.received].filter((p) => JSON.stringify(p.prompt).includes(id))).toEqual([]);
  });
});
