import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { JobStore } from '../src/job-store';

describe('JobStore', () => {
  let database: TestDatabase;
  let db: Db;
  let store: JobStore;

  beforeAll(async () => {
    database = await createTestDatabase('job-store');
    db = createDb(database.url, { max: 4 });
    store = new JobStore(db);
  });

  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  const queued = async () => (await store.createQueued({ body: generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' }) })).job.id;

  it('when a job runs, then queued, started, progress and completed take increasing seqs and only the stored story keeps lifecycle events', async () => {
    const id = await queued();
    const started = await store.markStarted(id, { backend: 'http://a', promptId: 'p1' });
    const first = await store.recordProgress(id, { value: 1, max: 4, node: '3' });
    const second = await store.recordProgress(id, { value: 2, max: 4, node: '3' });
    const done = await store.markCompleted(id, []);
    expect([started!.seq, first!.seq, second!.seq, done!.seq]).toEqual([2, 3, 4, 5]);
    expect(second!.payload).toEqual({ jobId: id, value: 2, max: 4, node: '3', seq: 4 });

    const row = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ status: 'completed', progressValue: 2, progressMax: 4, progressNode: '3', progressSeq: 4, eventSeq: 5 });
    const events = await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => [e.seq, e.type])).toEqual([[1, 'job:queued'], [2, 'job:started'], [5, 'job:completed']]);
  });

  it('when progress arrives, then updatedAt moves to now, which the recovery sweep compares with', async () => {
    const id = await queued();
    await store.markStarted(id, { backend: 'http://a', promptId: 'p2' });
    await db.$executeRaw`UPDATE generation_jobs SET "updatedAt" = '2000-01-01' WHERE id = ${id}::uuid`;
    await store.recordProgress(id, { value: 1, max: 2, node: null });
    const { updatedAt } = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(Math.abs(updatedAt.getTime() - Date.now())).toBeLessThan(5_000);
  });

  it('when a message is replayed, then guarded updates refuse a second start, progress after the end, and a second terminal state', async () => {
    const id = await queued();
    expect(await store.recordProgress(id, { value: 1, max: 2, node: null })).toBeNull();
    expect(await store.markStarted(id, { backend: 'http://a', promptId: 'p3' })).not.toBeNull();
    expect(await store.markStarted(id, { backend: 'http://b', promptId: 'p4' })).toBeNull();
    expect(await store.markCompleted(id, [])).not.toBeNull();
    expect(await store.markCompleted(id, [])).toBeNull();
    expect(await store.markFailed(id, { code: 'internal', message: 'late' })).toBeNull();
    expect(await store.recordProgress(id, { value: 2, max: 2, node: null })).toBeNull();
    const row = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
    expect(row).toMatchObject({ status: 'completed', backend: 'http://a', errorCode: null });
    expect(row.attempts).toHaveLength(1);
    expect(await db.jobEvent.count({ where: { jobId: id, type: 'job:completed' } })).toBe(1);
  });
});
