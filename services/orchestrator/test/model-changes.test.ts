import type { Simulator } from '@anime/comfyui-simulator';
import type { JobConditioning } from '@anime/contracts';
import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/** Reads routing asks for come at most this often per backend here (CAPABILITIES_RECHECK_MS, 5 s in production). */
const RECHECK_MS = 2_000;

describe('models deleted from or added to a running backend (orchestrator in-process, two simulators)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let alpha: Simulator;
  let beta: Simulator;

  beforeAll(async () => {
    const models = { checkpoints: ['shared.safetensors'], loras: ['ink.safetensors'] };
    fx = await startOrchestratorFixture('model-changes', { simulators: [{ stepMs: 5, ...models }, { stepMs: 5, ...models }], timings: { capabilitiesRecheckMs: RECHECK_MS } });
    ({ db } = fx);
    [alpha, beta] = fx.simulators;
    // Every GET /object_info is recorded (answered as ever): how many reads each backend was asked for.
    for (const sim of fx.simulators) sim.misbehave({ kind: 'held', path: '/object_info', until: Promise.resolve() });
  });

  afterAll(async () => {
    await fx?.close();
  });

  const render = (conditioning: Partial<JobConditioning>) => fx.resolvedGeneration({}, conditioning);
  const settled = (id: string) =>
    waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: 'asc' } } } });
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, `generation ${id} to render or fail`, 30_000);
  const reads = (sim: Simulator) => sim.misbehaviours.filter((m) => m.path === '/object_info').length;
  /** Until the backend's capabilities were last read longer ago than a recheck's period. */
  const readLongAgo = (sim: Simulator) =>
    waitFor(async () => {
      const row = await db.backend.findUniqueOrThrow({ where: { id: backendIdFor(sim.url) } });
      return !!row.capabilitiesAt && Date.now() - row.capabilitiesAt.getTime() > RECHECK_MS + 200;
    }, `${sim.url}'s capabilities to be older than ${RECHECK_MS} ms`, 15_000);

  it('when a LoRA is deleted from every backend, then the job fails with no_capable_backend naming it, after one refusal by each backend', async () => {
    alpha.setModels({ loras: [] });
    beta.setModels({ loras: [] });
    const failed = await settled(await render({ checkpoint: 'shared.safetensors', loras: [{ name: 'ink.safetensors', weight: 0.8 }] }));
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'no_capable_backend' });
    expect(failed.errorMessage).toMatch(/^no backend has LoRA "ink\.safetensors" /);
    // Each backend refused it once (listed, then read again: gone), then routing found none that has it.
    expect(failed.attempts.map((a) => a.backend).sort()).toEqual([alpha.url, beta.url].sort());
    expect(failed.attempts[0].error).toMatchObject({ code: 'model_missing' });
  });

  it('when a checkpoint is deleted from a running backend, then the jobs it refuses (value_not_in_list) render on the other backend that has it, after one /object_info read there', async () => {
    alpha.setModels({ checkpoints: ['renamed.safetensors'] });
    const before = reads(alpha);
    // At once: routing spreads them over both backends (2 places each), so some are sent to alpha.
    const ids = await Promise.all([1, 2, 3, 4].map(() => render({ checkpoint: 'shared.safetensors' })));
    const rows = await Promise.all(ids.map(settled));
    expect(rows.map((g) => [g.stage, g.errorCode, g.backend])).toEqual(rows.map(() => ['rendered', null, beta.url]));
    const refused = rows.filter((g) => g.attempts.length > 1);
    expect(refused.length).toBeGreaterThan(0);
    for (const g of refused) {
      expect(g.attempts.map((a) => a.backend)).toEqual([alpha.url, beta.url]);
      expect(g.attempts[0].error).toMatchObject({ code: 'model_missing' });
    }
    expect(reads(alpha) - before).toBe(1);
    const row = await db.backend.findUniqueOrThrow({ where: { id: backendIdFor(alpha.url) } });
    expect(row.checkpoints).toEqual(['renamed.safetensors']);
  });

  it('when several jobs at once need a LoRA no backend is known to have, then they fail with no_capable_backend after one /object_info read of each backend', async () => {
    await Promise.all([readLongAgo(alpha), readLongAgo(beta)]);
    const before = [reads(alpha), reads(beta)];
    const ids = await Promise.all([1, 2, 3].map(() => render({ checkpoint: 'shared.safetensors', loras: [{ name: 'nowhere.safetensors', weight: 1 }] })));
    const rows = await Promise.all(ids.map(settled));
    expect(rows.map((g) => [g.errorCode, g.attempts.length])).toEqual(rows.map(() => ['no_capable_backend', 0]));
    expect([reads(alpha) - before[0], reads(beta) - before[1]]).toEqual([1, 1]);
  });

  it('when a LoRA is added to a running backend, then a job needing it renders there at once, not at the next 5-minute refresh', async () => {
    await Promise.all([readLongAgo(alpha), readLongAgo(beta)]);
    beta.setModels({ loras: ['fresh.safetensors'] });
    const rendered = await settled(await render({ checkpoint: 'shared.safetensors', loras: [{ name: 'fresh.safetensors', weight: 1 }] }));
    expect([rendered.stage, rendered.errorCode, rendered.backend]).toEqual(['rendered', null, beta.url]);
    const row = await db.backend.findUniqueOrThrow({ where: { id: backendIdFor(beta.url) } });
    expect(row.loras).toEqual(['fresh.safetensors']);
  });

  it('when a checkpoint is added to a running backend, then a job naming it renders there with it, not with a fallback checkpoint', async () => {
    await Promise.all([readLongAgo(alpha), readLongAgo(beta)]);
    beta.setModels({ checkpoints: ['shared.safetensors', 'fresh-xl.safetensors'] });
    const rendered = await settled(await render({ checkpoint: 'fresh-xl.safetensors' }));
    expect([rendered.stage, rendered.errorCode, rendered.backend]).toEqual(['rendered', null, beta.url]);
    const loaders = Object.values(rendered.attempts.at(-1)!.workflow as Record<string, { class_type: string; inputs: Record<string, unknown> }>).filter((node) => node.class_type === 'CheckpointLoaderSimple');
    expect(loaders.map((node) => node.inputs.ckpt_name)).toEqual(['fresh-xl.safetensors']);
  });

  it('when jobs keep naming a checkpoint no backend has, then they fall back and render, and the backends are read again for it once, not every few seconds', async () => {
    await Promise.all([readLongAgo(alpha), readLongAgo(beta)]);
    const before = [reads(alpha), reads(beta)];
    const first = await settled(await render({ checkpoint: 'legacy-only.safetensors' }));
    expect([first.stage, first.errorCode]).toEqual(['rendered', null]);
    expect([reads(alpha) - before[0], reads(beta) - before[1]]).toEqual([1, 1]);
    // Past the period a read may be made again: the same missing checkpoint does not ask for one.
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS + 500));
    const again = await settled(await render({ checkpoint: 'legacy-only.safetensors' }));
    expect([again.stage, again.errorCode]).toEqual(['rendered', null]);
    expect([reads(alpha) - before[0], reads(beta) - before[1]]).toEqual([1, 1]);
  }, 30_000);
});
