import type { Simulator } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { backendStatesWhile } from './backend-states-while';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/** Past the health probe's 2 s bound: what a real ComfyUI's GET /system_stats can take while a checkpoint loads or a VAE decodes. */
const SLOW_STATS_MS = 3_000;

/** The prompts a simulator received for the generation (its id is in each prompt it is sent). */
const promptsFor = (sim: Simulator, id: string) => sim.received.filter((p) => JSON.stringify(p.prompt).includes(id)).length;

const settled = (db: Db, id: string, what: string, withinMs: number) =>
  waitFor(async () => {
    const g = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: 'asc' } } } });
    return g.stage === 'rendered' || g.status === 'failed' ? g : null;
  }, what, withinMs, 100);

/**
 * Two orchestrators (two deployments: a database and queues each) driving one ComfyUI. ComfyUI sends
 * a prompt's events to the client that queued it alone, and `status` only when its queue changes: an
 * orchestrator whose prompt waits behind another's hears nothing on its socket while that one runs.
 * Were /system_stats slow meanwhile (torch asked for the device's memory while a checkpoint loads), it
 * would take the backend for down and take its waiting prompt off, to render it again.
 */
describe('an orchestrator whose prompt waits on a ComfyUI another orchestrator\'s long prompt keeps busy, its /system_stats slow', () => {
  let first: OrchestratorFixture;
  let second: OrchestratorFixture;
  let sim: Simulator;

  beforeAll(async () => {
    first = await startOrchestratorFixture('shared-slow-first', { simulators: [{ stepMs: 100 }], env: { JOB_MAX_ATTEMPTS: '3' } });
    [sim] = first.simulators;
    second = await startOrchestratorFixture('shared-slow-second', { simulators: [], sharing: [sim], env: { JOB_MAX_ATTEMPTS: '3' } });
  });

  afterAll(async () => {
    sim?.misbehave();
    await second?.close();
    await first?.close();
  });

  it('when the second\'s prompt waits, its socket silent past 5 s and every probe timing out, then it keeps the backend up (GET /queue answered) and its prompt is sent once and renders once', async () => {
    const long = await first.resolvedGeneration({ steps: 150 });
    await waitFor(() => first.db.jobAttempt.findFirst({ where: { jobId: long, startedAt: { not: null } } }), 'the first orchestrator\'s prompt to start');
    sim.misbehave({ kind: 'delayed', path: '/system_stats', delayMs: SLOW_STATS_MS });
    const waiting = await second.resolvedGeneration({ steps: 2 });
    await waitFor(() => promptsFor(sim, waiting) === 1 || null, 'the second orchestrator\'s prompt to be queued behind the first\'s', 10_000, 50);

    const { states, errors } = await backendStatesWhile(second.db, backendIdFor(sim.url), async () => {
      // About 15 s: the second's socket hears nothing for most of it (nothing of its prompt runs).
      await settled(first.db, long, 'the long prompt to render or fail', 40_000);
      // Its probes answered in time again: a backend taken down meanwhile comes back, and what it lost is sent again.
      sim.misbehave();
      return settled(second.db, waiting, 'the waiting prompt to render or fail', 40_000);
    });
    const [longRow, waitingRow] = await Promise.all(
      [first, second].map(({ db }, i) => db.generationJob.findUniqueOrThrow({ where: { id: i === 0 ? long : waiting }, include: { attempts: true } })),
    );

    expect({ states, sent: promptsFor(sim, waiting), attempts: waitingRow.attempts.map((a) => [a.backend, (a.error as { code?: string } | null)?.code ?? null]) }).toEqual({
      states: ['up'],
      sent: 1,
      attempts: [[sim.url, null]],
    });
    expect(waitingRow.stage).toBe('rendered');
    expect({ stage: longRow.stage, attempts: longRow.attempts.length, sent: promptsFor(sim, long) }).toEqual({ stage: 'rendered', attempts: 1, sent: 1 });
    // Probes timed out meanwhile, and what kept the backend up was ComfyUI's /queue, not a frame.
    expect(sim.misbehaviours.filter((m) => m.path === '/system_stats').length).toBeGreaterThanOrEqual(6);
    expect(errors.some((e) => /GET \/system_stats: ECONNABORTED.*GET \/queue answered with prompt \S+ running: busy, not down$/.test(e))).toBe(true);
  }, 120_000);
});
