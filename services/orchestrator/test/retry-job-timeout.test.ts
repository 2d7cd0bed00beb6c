import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * JOB_TIMEOUT_S bounds each render attempt from its first submission; a failover to another
 * backend keeps that clock. A retry asked for later (over the API, hours after the first attempt)
 * is a new attempt with a clock of its own: it measured from the first attempt's start, kept in the
 * row, and failed with `timeout` within a few hundred ms of being sent to its backend.
 */
describe('a render retried long after its first attempt (orchestrator in-process, real PostgreSQL, Redis and simulator)', () => {
  let f: OrchestratorFixture;

  beforeAll(async () => {
    f = await startOrchestratorFixture('retry-job-timeout', { simulators: [{ stepMs: 5 }], env: { JOB_TIMEOUT_S: '60' } });
  });

  afterAll(async () => {
    await f?.close();
  });

  const row = (id: string) => f.db.generationJob.findUniqueOrThrow({ where: { id } });

  it('when a rendered generation is retried with a new seed after more than JOB_TIMEOUT_S, then its new attempt renders instead of failing with timeout', async () => {
    const id = await f.resolvedGeneration({ seed: 5 });
    await waitFor(async () => ((await row(id)).stage === 'rendered' ? true : null), 'the first render', 30_000);
    // As if its first attempt ran 10 minutes ago and it failed at filing since (a new seed renders again).
    await f.db.generationJob.update({ where: { id }, data: { status: 'failed', errorCode: 'filing_failed', startedAt: new Date(Date.now() - 600_000) } });
    expect(await f.lifecycle.retry(id, { reason: 'test', newSeed: true })).not.toBeNull();
    const reopened = await row(id);
    await f.service.ctx.queues.enqueueStage(reopened, { replaceFinished: true });

    const settled = await waitFor(async () => {
      const g = await row(id);
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, 'the retried render', 30_000);
    // Before: failed, timeout ("timed out after 60 s (JOB_TIMEOUT_S)").
    expect({ stage: settled.stage, status: settled.status, errorCode: settled.errorCode }).toEqual({ stage: 'rendered', status: 'running', errorCode: null });
    expect(await f.db.jobAttempt.count({ where: { jobId: id } })).toBe(2);
  });
});
