import { poolOf } from '@anime/db';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * The crash hunt's job 3ec0b48b (PostgreSQL SIGSTOPped mid-run): its render failed, and the statement
 * recording the failure outlived DATABASE_QUERY_TIMEOUT_MS, then committed on thaw. The timeout was
 * the render job's own error: BullMQ spent a try, its retry re-opened the failed generation ("its
 * generation-renders job was retried") and posted the prompt again: two attempts, two job:failed.
 * Here a trigger holds the failing UPDATE 1.5 s, past the orchestrator's 1 s query timeout, then lets it commit.
 */
describe('a render whose failure is recorded past the query timeout (orchestrator in-process, real PostgreSQL, Redis and simulator)', () => {
  let f: OrchestratorFixture;

  beforeAll(async () => {
    f = await startOrchestratorFixture('fw-failure-write', { simulators: [{ stepMs: 5 }], env: { JOB_MAX_ATTEMPTS: '3', DATABASE_QUERY_TIMEOUT_MS: '1000' } });
    await poolOf(f.db).query(`CREATE SEQUENCE fw_slow_fail;
CREATE FUNCTION fw_slow_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'failed' AND OLD.status <> 'failed' AND nextval('fw_slow_fail') = 1 THEN PERFORM pg_sleep(1.5); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fw_slow_fail BEFORE UPDATE ON generation_jobs FOR EACH ROW EXECUTE FUNCTION fw_slow_fail();`);
  });

  afterAll(async () => {
    await f?.close();
  });

  it('when ComfyUI fails the prompt and the failure commits after the orchestrator gave up on it, then the prompt is posted once, and the generation has one attempt and one job:failed', async () => {
    f.simulators[0].failNext('execution_error', 'the test fails this prompt', 'RuntimeError');
    const id = await f.resolvedGeneration();
    const renders = f.service.ctx.queues.byKey.generationRenders;
    // Ended: failed (before, its retry rendered the generation again, and it completed).
    await waitFor(async () => ['failed', 'completed'].includes(await renders.getJobState(`render-${id}`)), 'the render job to end', 30_000);
    // Past the backoff of a spent try (1 s), had one been spent.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    // Before: 2 prompts, 2 attempts, the failed generation re-opened (job:retrying) and rendered again.
    expect(f.simulators[0].received).toHaveLength(1);
    expect(await f.db.jobAttempt.count({ where: { jobId: id } })).toBe(1);
    const events = (await f.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type);
    expect(events.filter((type) => type === 'job:failed')).toHaveLength(1);
    expect(events).not.toContain('job:retrying');
    expect(await f.db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'failed' });
    const job = (await renders.getJob(`render-${id}`))!;
    // The try the fault spent; none on waiting for PostgreSQL.
    expect(job.attemptsMade).toBe(1);
  });
});
