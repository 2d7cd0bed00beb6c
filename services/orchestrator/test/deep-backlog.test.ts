import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * A backlog far deeper than its backend's places, for the one backend that can run it: the jobs
 * waiting in the orchestrator for a place there count against JOB_TIMEOUT_S, the jobs still queued in
 * Redis do not. So only a few are taken ahead of their place, and the backlog drains one render after
 * another, however long it is, with no job failing for the time it waited its turn.
 */
describe('a deep backlog for one busy backend (orchestrator in-process, two simulators with different models)', () => {
  let fx: OrchestratorFixture;
  let db: Db;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('deep-backlog', {
      simulators: [{ stepMs: 100, checkpoints: ['alpha.safetensors'] }, { stepMs: 100, checkpoints: ['beta.safetensors'] }],
      env: { JOB_TIMEOUT_S: '6' },
    });
    ({ db } = fx);
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('when 40 jobs only alpha can run are queued at once (about 12 s of renders, twice JOB_TIMEOUT_S), then every one renders there and none times out', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await fx.resolvedGeneration({ prompt: `alpha ${i}`, steps: 3 }, { checkpoint: 'alpha.safetensors' }));
    const rows = await waitFor(async () => {
      const found = await db.generationJob.findMany({ where: { id: { in: ids } } });
      return found.every((g) => g.stage === 'rendered' || g.status === 'failed') ? found : null;
    }, 'the backlog to render', 90_000);
    expect(rows.filter((g) => g.status === 'failed').map((g) => g.errorCode)).toEqual([]);
    expect(new Set(rows.map((g) => g.backend))).toEqual(new Set([fx.simulators[0].url]));
  }, 120_000);
});
