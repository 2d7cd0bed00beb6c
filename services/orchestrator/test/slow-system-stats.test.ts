import type { Simulator } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { backendStatesWhile } from './backend-states-while';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/** Past the health probe's 2 s bound: what a real ComfyUI's GET /system_stats can take while a checkpoint loads or a node holds the GIL. */
const SLOW_STATS_MS = 3_000;

/** The prompts a simulator received for the generation (its id is in each prompt it is sent). */
const promptsFor = (sim: Simulator, id: string) => sim.received.filter((p) => JSON.stringify(p.prompt).includes(id)).length;
const interruptsOn = (sim: Simulator) => sim.controls.filter((c) => c.path === '/interrupt').length;

/**
 * A real ComfyUI answers GET /system_stats on aiohttp's event loop, asking torch for the device's
 * memory there (server.py, model_management.get_free_memory): while a checkpoint loads or a node
 * holds the GIL or the driver, that answer can take seconds, though the prompt goes on and its
 * progress keeps coming over the WebSocket. A backend that slow is working: its running prompt is
 * not abandoned (a second render of the same job elsewhere), and it goes on taking jobs.
 */
describe('a backend whose /system_stats is slow while its prompt runs and reports progress', () => {
  describe('with two backends', () => {
    let fx: OrchestratorFixture;
    let db: Db;

    beforeAll(async () => {
      fx = await startOrchestratorFixture('slow-stats-two', { simulators: [{ stepMs: 100 }, { stepMs: 100 }], env: { JOB_MAX_ATTEMPTS: '3' } });
      ({ db } = fx);
    });

    afterAll(async () => {
      for (const sim of fx?.simulators ?? []) sim.misbehave();
      await fx?.close();
    });

    it('when /system_stats answers in 3 s through the whole render, then the backend stays up, the prompt renders there in one attempt, and nothing is sent to the other backend or interrupted', async () => {
      const id = await fx.resolvedGeneration({ steps: 100 });
      const started = await waitFor(() => db.jobAttempt.findFirst({ where: { jobId: id, startedAt: { not: null } } }), 'the prompt to start');
      const busy = fx.simulators.find((s) => s.url === started.backend)!;
      const other = fx.simulators.find((s) => s !== busy)!;
      busy.misbehave({ kind: 'delayed', path: '/system_stats', delayMs: SLOW_STATS_MS });

      const { value: row, states } = await backendStatesWhile(db, backendIdFor(busy.url), () =>
        waitFor(async () => {
          const g = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: 'asc' } } } });
          return g.stage === 'rendered' || g.status === 'failed' ? g : null;
        }, 'the generation to render or fail', 40_000, 100),
      );
      busy.misbehave();

      // Probes went on meanwhile, each past its 2 s bound.
      expect(busy.misbehaviours.filter((m) => m.path === '/system_stats').length).toBeGreaterThanOrEqual(3);
      expect(states).toEqual(['up']);
      expect({ status: row.status, stage: row.stage }).toEqual({ status: 'running', stage: 'rendered' });
      expect(row.attempts.map((a) => [a.backend, (a.error as { code?: string } | null)?.code ?? null])).toEqual([[busy.url, null]]);
      expect({ busy: promptsFor(busy, id), other: promptsFor(other, id), interrupts: interruptsOn(busy) }).toEqual({ busy: 1, other: 0, interrupts: 0 });
    }, 60_000);
  });

  describe('with one backend', () => {
    let fx: OrchestratorFixture;
    let db: Db;
    let sim: Simulator;

    beforeAll(async () => {
      fx = await startOrchestratorFixture('slow-stats-one', { simulators: [{ stepMs: 100 }], env: { JOB_MAX_ATTEMPTS: '3' } });
      ({ db } = fx);
      [sim] = fx.simulators;
    });

    afterAll(async () => {
      sim?.misbehave();
      await fx?.close();
    });

    it('when /system_stats stays slow past two probes, then a job that comes meanwhile is still sent there, and both render in one attempt each', async () => {
      const first = await fx.resolvedGeneration({ steps: 120 });
      await waitFor(() => db.jobAttempt.findFirst({ where: { jobId: first, startedAt: { not: null } } }), 'the first prompt to start');
      sim.misbehave({ kind: 'delayed', path: '/system_stats', delayMs: SLOW_STATS_MS });
      // Three probe periods: two probes have timed out by now.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const second = await fx.resolvedGeneration({ steps: 2 });

      // Queued behind the first, not withheld: the backend is working.
      await waitFor(() => promptsFor(sim, second) === 1 || null, 'the second job\'s prompt to be sent to the busy backend', 5_000, 100).catch(() => undefined);
      const sentWhileSlow = promptsFor(sim, second);
      sim.misbehave();

      const rows = await waitFor(async () => {
        const gs = await db.generationJob.findMany({ where: { id: { in: [first, second] } }, include: { attempts: true } });
        return gs.every((g) => g.stage === 'rendered' || g.status === 'failed') ? gs : null;
      }, 'both generations to render or fail', 40_000, 100);
      expect(sentWhileSlow).toBe(1);
      expect(rows.map((g) => [g.id === first ? 'first' : 'second', g.stage, g.attempts.length]).sort()).toEqual([
        ['first', 'rendered', 1],
        ['second', 'rendered', 1],
      ]);
      expect(promptsFor(sim, first)).toBe(1);
    }, 80_000);
  });
});

/**
 * What the health probe is for stays as it was: a ComfyUI that says nothing on either channel (a
 * frozen host, a partition) is taken for down within the probe's ~10 s, and one that is gone (the
 * connection refused, the socket closed) at once.
 */
describe('a backend silent on both channels, or gone (simulator behind a TCP proxy)', () => {
  let fx: OrchestratorFixture;
  let db: Db;

  beforeEach(async () => {
    fx = await startOrchestratorFixture('slow-stats-hung', { simulators: [{ stepMs: 100 }], proxied: true, env: { JOB_MAX_ATTEMPTS: '3' } });
    ({ db } = fx);
  });

  afterEach(async () => {
    fx?.proxies[0].heal();
    await fx?.proxies[0].accept().catch(() => undefined);
    for (const sim of fx?.simulators ?? []) {
      await fetch(`${sim.url}/queue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clear: true }) });
      await fetch(`${sim.url}/interrupt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    }
    await fx?.close();
  });

  /** Runs `cut` once the generation's prompt runs (its progress coming), and times how long until the backend is recorded down. */
  async function downAfter(cut: () => Promise<void> | void): Promise<number> {
    const id = await fx.resolvedGeneration({ steps: 150 });
    await waitFor(() => db.jobAttempt.findFirst({ where: { jobId: id, startedAt: { not: null } } }), 'the prompt to start');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const cutAt = Date.now();
    await cut();
    await waitFor(async () => (await db.backend.findFirst())?.state === 'down', 'the backend to be recorded down', 30_000, 50);
    return Date.now() - cutAt;
  }

  it('when no byte goes through either way (a frozen host), then the backend is recorded down within 12 s', async () => {
    const ms = await downAfter(() => fx.proxies[0].blackHole());
    expect(ms).toBeLessThan(12_000);
  }, 60_000);

  it('when the connection is refused and the socket closed (ComfyUI killed), then the backend is recorded down within 1.5 s', async () => {
    const ms = await downAfter(() => fx.proxies[0].refuse());
    expect(ms).toBeLessThan(1_500);
  }, 60_000);
});
