import type { Simulator } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';
import { setBackendDraining } from './set-backend-draining';

const PREFETCH = 1;

/**
 * README "Priority": the orchestrator takes only as many render jobs as it can place in backends
 * ((1 + BACKEND_PREFETCH) per backend), so an interactive job overtakes every batch job still queued.
 * That must hold while a backend is drained or down too: its share of worker slots may not pile
 * more prompts into the backends that are left.
 */
describe('render capacity follows the usable backends (orchestrator in-process, two simulators)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let alpha: Simulator;
  let beta: Simulator;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('render-capacity', {
      simulators: [
        { stepMs: 100, checkpoints: ['alpha.safetensors'], loras: [] },
        { stepMs: 100, checkpoints: ['beta.safetensors'], loras: [] },
      ],
      env: { BACKEND_PREFETCH: String(PREFETCH) },
    });
    ({ db } = fx);
    [alpha, beta] = fx.simulators;
  });

  afterAll(async () => {
    await fx?.close();
  });

  const drain = (sim: Simulator, draining: boolean) => setBackendDraining(fx, sim, draining);
  const heldBy = (sim: Simulator, ids: string[]) => ids.filter((id) => sim.received.some((p) => JSON.stringify(p.prompt).includes(id))).length;
  const rendered = (ids: string[]) =>
    waitFor(async () => {
      const rows = await db.generationJob.findMany({ where: { id: { in: ids } }, include: { attempts: true } });
      return rows.every((r) => r.stage === 'rendered') ? rows : null;
    }, 'every job to render', 60_000);

  it('when one backend is drained, then the other holds no more than 1 + BACKEND_PREFETCH prompts and an interactive job overtakes the queued batch jobs', async () => {
    await drain(beta, true);
    const batch: string[] = [];
    for (let i = 0; i < 6; i++) batch.push(await fx.resolvedGeneration({ prompt: `background ${i}`, steps: 10, priority: 'batch' }, { checkpoint: 'alpha.safetensors' }));
    await waitFor(() => heldBy(alpha, batch) > 0, 'the first batch job to reach alpha');
    const interactive = await fx.resolvedGeneration({ prompt: 'look at this now', steps: 1, priority: 'interactive' }, { checkpoint: 'alpha.safetensors' });

    const rows = await rendered([...batch, interactive]);
    const startOf = (id: string) => rows.find((r) => r.id === id)!.attempts[0].startedAt!.getTime();
    const ahead = batch.filter((id) => startOf(id) < startOf(interactive));
    // Only what was already in alpha when it came: one running and BACKEND_PREFETCH waiting there.
    expect(ahead.length).toBeLessThanOrEqual(1 + PREFETCH);
    expect(heldBy(beta, [...batch, interactive])).toBe(0);
    await drain(beta, false);
  });

  it('when a job waits for a drained backend, then it does not take the room of the backend that is left', async () => {
    await drain(beta, true);
    const needsBeta = await fx.resolvedGeneration({ prompt: 'only beta has my model', steps: 1 }, { checkpoint: 'beta.safetensors' });
    const forAlpha = [
      await fx.resolvedGeneration({ prompt: 'alpha one', steps: 30 }, { checkpoint: 'alpha.safetensors' }),
      await fx.resolvedGeneration({ prompt: 'alpha two', steps: 30 }, { checkpoint: 'alpha.safetensors' }),
    ];
    // Both at once in alpha (one running, one in its queue), although the beta job holds a worker slot.
    await waitFor(() => heldBy(alpha, forAlpha) === 2, 'alpha to hold both of its jobs at once', 5_000);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id: needsBeta } })).toMatchObject({ stage: 'resolved' });
    await drain(beta, false);
    const rows = await rendered([needsBeta, ...forAlpha]);
    expect(rows.find((r) => r.id === needsBeta)!.backend).toBe(beta.url);
  });

  it('when more jobs than every backend’s places wait for a drained backend, then the jobs queued behind them that the other backend can run still go there', async () => {
    await drain(beta, true);
    // 8 waiting jobs: more than the (1 + BACKEND_PREFETCH) × 2 backends = 4 the waiting once could add.
    const needBeta: string[] = [];
    for (let i = 0; i < 8; i++) needBeta.push(await fx.resolvedGeneration({ prompt: `only beta ${i}`, steps: 1 }, { checkpoint: 'beta.safetensors' }));
    const forAlpha = [
      await fx.resolvedGeneration({ prompt: 'alpha after the beta jobs', steps: 1 }, { checkpoint: 'alpha.safetensors' }),
      await fx.resolvedGeneration({ prompt: 'alpha after the beta jobs, two', steps: 1 }, { checkpoint: 'alpha.safetensors' }),
    ];
    // Alpha renders them while beta stays drained (the waiting jobs took every render slot: nothing ran until beta came back).
    await waitFor(async () => {
      const rows = await db.generationJob.findMany({ where: { id: { in: forAlpha } } });
      return rows.every((r) => r.stage === 'rendered') ? rows : null;
    }, 'the alpha jobs to render while beta is drained', 15_000);
    await drain(beta, false);
    const rows = await rendered([...needBeta, ...forAlpha]);
    expect(rows.filter((r) => needBeta.includes(r.id)).map((r) => r.backend)).toEqual(needBeta.map(() => beta.url));
  });
});
