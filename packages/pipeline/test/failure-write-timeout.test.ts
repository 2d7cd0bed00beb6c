import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { generationRequestBodySchema, type JobEventEnvelope } from '@anime/contracts';
import { createDb, poolOf, type Db, type SqlPool } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { MalformedDataError } from '../src/faults/stage-faults';
import { JobEventPublisher } from '../src/job-events';
import { JobLifecycle } from '../src/lifecycle/job-lifecycle';
import { createPipelineQueues, type PipelineQueues } from '../src/queues';
import { createRedis } from '../src/redis';
import { createStageWorker } from '../src/stage-worker';

/**
 * The statement recording a generation's failure outlives its caller's query timeout
 * (DATABASE_QUERY_TIMEOUT_MS: PostgreSQL frozen, or just slow, while it ran). Found by the crash
 * hunt (PostgreSQL SIGSTOPped mid-run): the "Query read timeout" escaped as the stage job's own
 * error, so BullMQ spent a try and ran the job again after its backoff; the failure had committed on
 * thaw, and the retry re-opened the generation (admitStage: a failed generation whose stage job was
 * retried) and rendered it a second time: two attempts, two job:failed, two generation.failed webhooks.
 * Here a trigger holds the failing UPDATE past the query timeout, then lets it commit (or roll back,
 * a failure that never landed); the stage fails with a permanent fault, which no try changes.
 */
describe('a stage job whose failure write times out', () => {
  const QUERY_TIMEOUT_MS = 500;
  const queuePrefix = uniqueQueuePrefix('fw-failure-write');
  let database: TestDatabase;
  let db: Db;
  /** A pool of its own, with the default (10 s) query timeout: it arms the trigger. */
  let adminDb: Db;
  let admin: SqlPool;
  let redis: Redis;
  let queues: PipelineQueues;
  let worker: Worker;
  let lifecycle: JobLifecycle;
  let characterId: string;
  let versionId: string;
  /** Each generation the stage ran, in order; and whether a run fails (a permanent fault) or leaves it queued. */
  const runs: string[] = [];
  const failing = new Set<string>();
  const published: JobEventEnvelope[] = [];

  class RecordingPublisher extends JobEventPublisher {
    override async publishAll(envelopes: (JobEventEnvelope | null | undefined)[]): Promise<void> {
      for (const envelope of envelopes) if (envelope) published.push(envelope);
      await super.publishAll(envelopes);
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase('fw-failure-write');
    db = createDb(database.url, { max: 4, queryTimeoutMs: QUERY_TIMEOUT_MS });
    lifecycle = new JobLifecycle(db);
    adminDb = createDb(database.url, { max: 1 });
    admin = poolOf(adminDb);
    // Holds the first UPDATE failing a generation (a sequence: not undone with the statement) for 1.2 s,
    // past the client's 0.5 s, within the server's statement_timeout (1.5 s); then it commits, or, with
    // 'rollback' in fw_mode, is undone as if PostgreSQL had gone away before committing it.
    await admin.query(`CREATE SEQUENCE fw_slow_fail;
CREATE TABLE fw_mode (rollback boolean NOT NULL);
CREATE FUNCTION fw_slow_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'failed' AND OLD.status <> 'failed' AND nextval('fw_slow_fail') = 1 THEN
    PERFORM pg_sleep(1.2);
    IF EXISTS (SELECT 1 FROM fw_mode WHERE rollback) THEN RAISE EXCEPTION 'fw: the failure never landed'; END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fw_slow_fail BEFORE UPDATE ON generation_jobs FOR EACH ROW EXECUTE FUNCTION fw_slow_fail();`);
    const character = await db.character.create({ data: { slug: 'kai', name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    characterId = character.id;
    versionId = version.id;

    redis = createRedis(TEST_REDIS_URL, 'worker');
    queues = createPipelineQueues(redis, queuePrefix, {}, createLogger('fw-queues', 'error'));
    await startWorker(300);
  });

  /** The render worker; `databaseRetryDelayMs`: how long a job waits for PostgreSQL before it looks again. */
  async function startWorker(databaseRetryDelayMs: number): Promise<void> {
    await worker?.close();
    worker = createStageWorker(
      'generationRenders',
      {
        run: async (generation) => {
          runs.push(generation.id);
          if (failing.has(generation.id)) throw new MalformedDataError('the test fails this render');
          return { outcome: 'left queued' };
        },
      },
      { db, queues, events: new RecordingPublisher(redis, queuePrefix), connection: redis, prefix: queuePrefix, log: createLogger('fw-worker', 'error'), databaseRetryDelayMs },
    );
    void worker.run();
    await worker.waitUntilReady();
  }

  afterAll(async () => {
    await worker?.close();
    await queues?.close();
    redis?.disconnect();
    // Its pool only (Prisma never connected it): else its idle connection outlives the drop.
    await admin?.end();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  /** Arms the trigger for the next failure: it commits late, or (rollback) never. */
  async function slowNextFailure(rollback: boolean): Promise<void> {
    await admin.query('DELETE FROM fw_mode');
    await admin.query('INSERT INTO fw_mode (rollback) VALUES ($1)', [rollback]);
    await admin.query(`SELECT setval('fw_slow_fail', 1, false)`);
  }

  /** A resolved generation whose render fails with a permanent fault, its render job queued. */
  async function failingRender(): Promise<string> {
    const { job } = await lifecycle.create({
      body: generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' }),
      source: 'test',
      resolution: { characterId, characterVersionId: versionId, conditioning: { positive: 'p', negative: 'n', loras: [], references: [], outfit: null } },
    });
    failing.add(job.id);
    await queues.enqueueStage(job);
    return job.id;
  }

  const renderJob = async (id: string): Promise<Job> => (await queues.byKey.generationRenders.getJob(`render-${id}`))!;
  const eventsOf = async (id: string) => (await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type);
  const publishedOf = (id: string) => published.filter((e) => (e.payload as { jobId: string }).jobId === id).map((e) => e.name);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('when the failure commits after its caller gave up, then the job ends failed once: no try spent on it, the generation neither re-opened nor rendered again', async () => {
    await slowNextFailure(false);
    const id = await failingRender();
    await waitFor(async () => (await renderJob(id).then((j) => j.getState())) === 'failed', 'the render job to fail', 15_000);
    await pause(1_500);

    // Before: the timeout spent a try; 1 s later the retry re-opened the generation and rendered it again.
    expect(runs.filter((r) => r === id)).toHaveLength(1);
    expect(await eventsOf(id)).toEqual(['job:queued', 'job:failed']);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'failed', errorCode: 'invalid_request' });
    const job = await renderJob(id);
    // The one try of the fault; the wait for PostgreSQL spent none (the job was started again after it).
    expect(job.attemptsMade).toBe(1);
    expect(job.attemptsStarted).toBeGreaterThan(1);
    expect(job.failedReason).toContain('the test fails this render');
    // Stored, never published (as the filing's "already completed"): the gateway's quiet check sends it
    // to followers, the webhook recovery sweep dispatches it. Before: a second job:failed was published.
    expect(publishedOf(id)).toEqual([]);
  });

  it('when the failure never landed (PostgreSQL away before it committed), then the returning job records it, once, without running the stage again', async () => {
    await slowNextFailure(true);
    const id = await failingRender();
    await waitFor(async () => (await renderJob(id).then((j) => j.getState())) === 'failed', 'the render job to fail', 15_000);
    await pause(1_500);

    // Before: the timeout spent a try; the retry found the generation still queued and rendered it again.
    expect(runs.filter((r) => r === id)).toHaveLength(1);
    expect(await eventsOf(id)).toEqual(['job:queued', 'job:failed']);
    expect(publishedOf(id)).toEqual(['job:failed']);
    const job = await renderJob(id);
    expect(job.attemptsMade).toBe(1);
    expect(job.attemptsStarted).toBeGreaterThan(1);
    expect(job.failedReason).toContain('the test fails this render');
  });

  it('when the failed render job is then retried from a dashboard (job.retry()), then the generation is re-opened and rendered again, as before', async () => {
    await slowNextFailure(false);
    const id = await failingRender();
    await waitFor(async () => (await renderJob(id).then((j) => j.getState())) === 'failed', 'the render job to fail', 15_000);
    failing.delete(id);

    await (await renderJob(id)).retry();
    await waitFor(async () => (await renderJob(id).then((j) => j.getState())) === 'completed', 'the retried render job to complete', 15_000);
    expect(runs.filter((r) => r === id)).toHaveLength(2);
    expect(await eventsOf(id)).toEqual(['job:queued', 'job:failed', 'job:retrying']);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'queued', stage: 'resolved' });
  });

  it('when a REST retry re-opens the generation while its job waits to learn whether the failure landed, then that job runs the re-opened generation, and does not fail it', async () => {
    // The job looks again 4 s after PostgreSQL failed it, long after the failure committed (1.2 s).
    await startWorker(4_000);
    await slowNextFailure(false);
    const id = await failingRender();
    // The failure committed (after its caller gave up); the render job waits, delayed, for PostgreSQL.
    await waitFor(async () => (await db.generationJob.findUniqueOrThrow({ where: { id } })).status === 'failed', 'the failure to commit', 15_000);
    const state = await renderJob(id).then((j) => j.getState());
    expect(state).toBe('delayed');
    failing.delete(id);
    // As POST /api/v1/generations/:id/retry does: re-open, then hand it to its stage's queue (the delayed job is kept and promoted).
    expect(await lifecycle.retry(id, { reason: 'retried over REST' })).not.toBeNull();
    await queues.enqueueStage(await db.generationJob.findUniqueOrThrow({ where: { id } }), { replaceFinished: true });

    await waitFor(async () => (await renderJob(id).then((j) => j.getState())) === 'completed', 'the render job to complete', 15_000);
    expect(runs.filter((r) => r === id)).toHaveLength(2);
    expect(await eventsOf(id)).toEqual(['job:queued', 'job:failed', 'job:retrying']);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'queued', stage: 'resolved', errorCode: null });
  });
});
