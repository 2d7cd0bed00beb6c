import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, poolOf, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { JobLifecycle } from '../src/lifecycle/job-lifecycle';
import { loadGeneration } from '../src/lifecycle/load-generation';
import { CREATED_JOB_FIELDS } from '../src/lifecycle/lifecycle-statements';

const body = () => generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' });
const conditioning = { positive: 'p', negative: 'n', loras: [], references: [], outfit: null };
const workflow = { '1': { class_type: 'SaveImage', inputs: {} } };

describe('JobLifecycle statements', () => {
  let database: TestDatabase;
  let db: Db;
  let lifecycle: JobLifecycle;
  let resolution: { characterId: string; characterVersionId: string; conditioning: typeof conditioning };

  beforeAll(async () => {
    database = await createTestDatabase('lifecycle-statements');
    db = createDb(database.url, { max: 4 });
    lifecycle = new JobLifecycle(db);
    const character = await db.character.create({ data: { slug: 'kai', name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    resolution = { characterId: character.id, characterVersionId: version.id, conditioning };
  });

  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  const story = async (id: string) => (await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.seq);
  const resolved = async () => (await lifecycle.create({ body: body(), source: 'test', resolution })).job.id;

  it('when a job is created, then it returns its producer fields as Prisma reads them, the row is stored as Prisma would store it, and so is its job:queued event', async () => {
    const { job, event } = await lifecycle.create({ body: body(), source: 'test', requestId: 'r-1', correlationId: 'c-1', resolution });
    const row = await db.generationJob.findUniqueOrThrow({ where: { id: job.id } });
    expect(Object.keys(job).sort()).toEqual([...CREATED_JOB_FIELDS].sort());
    expect(job).toEqual(Object.fromEntries(CREATED_JOB_FIELDS.map((field) => [field, row[field]])));
    expect(row).toMatchObject({ status: 'queued', stage: 'resolved', eventSeq: 1, source: 'test', requestId: 'r-1', correlationId: 'c-1', outfit: null });
    expect(typeof row.seed).toBe('bigint');
    expect((row.request as { seed: number }).seed).toBe(Number(row.seed));
    expect(Math.abs(job.createdAt.getTime() - Date.now())).toBeLessThan(5_000);
    expect(row.resolvedAt).not.toBeNull();
    expect(event).toEqual({ name: 'job:queued', seq: 1, payload: { jobId: job.id, seq: 1 }, origin: { source: 'test', requestId: 'r-1' } });
    const [stored] = await db.jobEvent.findMany({ where: { jobId: job.id } });
    expect(stored).toMatchObject({ seq: 1, type: 'job:queued', payload: { jobId: job.id, seq: 1 } });
    expect(Math.abs(stored.createdAt.getTime() - Date.now())).toBeLessThan(5_000);
    const again = await lifecycle.create({ body: body(), source: 'test', requestId: 'r-1' });
    expect(again).toEqual({ job, created: false, event: null });
  });

  it('when each transition runs, then it is one statement on the pool and no transaction', async () => {
    const pool = poolOf(db);
    const query = jest.spyOn(pool, 'query');
    const connect = jest.spyOn(pool, 'connect');
    // [statements, connections taken]: pool.query takes its connection through pool.connect; a transaction would take one more.
    const counts: Record<string, [number, number]> = {};
    const count = async (name: string, step: () => Promise<unknown>) => {
      query.mockClear();
      connect.mockClear();
      await step();
      counts[name] = [query.mock.calls.length, connect.mock.calls.length];
    };
    let id = '';
    try {
      await count('create', async () => { id = (await lifecycle.create({ body: body(), source: 'test' })).job.id; });
      await count('resolve', () => lifecycle.resolve(id, resolution));
      await count('submit', () => lifecycle.submit(id, { backend: 'http://a', promptId: 'p1', workflow }));
      await count('resubmit', () => lifecycle.resubmit(id, { backend: 'http://b', promptId: 'p2', workflow }, 'backend_lost'));
      await count('started', () => lifecycle.started(id, 'p2'));
      await count('progress', () => lifecycle.progress(id, { value: 1, max: 2, node: null }));
      await count('requestCancel', () => lifecycle.requestCancel(id));
      await count('cancel', () => lifecycle.cancel(id));
      await count('retryStage', () => lifecycle.retryStage(id, 'generationRenders', 'test'));
      await count('fail', () => lifecycle.fail(id, { code: 'internal', message: 'boom' }));
    } finally {
      query.mockRestore();
      connect.mockRestore();
    }
    const one: [number, number] = [1, 1];
    expect(counts).toEqual({ create: one, resolve: one, submit: one, resubmit: one, started: one, progress: one, requestCancel: one, cancel: one, retryStage: one, fail: one });
    expect(await story(id)).toEqual([1, 2, 3, 4, 5, 7, 8, 9]);
  });

  it('when the same job is moved from several connections at once, then attempts stay numbered 1..n and the stored story has no gap', async () => {
    const id = await resolved();
    await lifecycle.submit(id, { backend: 'http://a', promptId: 'p0', workflow });
    // resubmit goes from running/submitted to itself: each applies, each opening the next attempt.
    const resubmits = await Promise.all([1, 2, 3].map((n) => lifecycle.resubmit(id, { backend: `http://b${n}`, promptId: `p${n}`, workflow }, 'backend_lost')));
    expect(resubmits.every((events) => events.length === 2)).toBe(true);
    const attempts = await db.jobAttempt.findMany({ where: { jobId: id }, orderBy: { number: 'asc' } });
    expect(attempts.map((a) => a.number)).toEqual([1, 2, 3, 4]);
    expect(attempts.filter((a) => a.finishedAt === null)).toHaveLength(1);
    const open = attempts[3];
    const started = await Promise.all([1, 2, 3].map(() => lifecycle.started(id, open.promptId)));
    expect(started.filter((e) => e !== null)).toHaveLength(1);
    const ended = await Promise.all([lifecycle.fail(id, { code: 'internal', message: 'boom' }), lifecycle.cancel(id), lifecycle.fail(id, { code: 'internal', message: 'again' })]);
    expect(ended.filter((e) => e !== null)).toHaveLength(1);
    const seqs = await story(id);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(seqs).toHaveLength(1 + 1 + 3 * 2 + 1 + 1);
    const row = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(row.eventSeq).toBe(seqs.length);
    expect(await db.jobAttempt.count({ where: { jobId: id, finishedAt: null } })).toBe(0);
  });

  it('when a job fails with details and is retried with a new seed, then the details are stored and cleared, and the request carries the new seed', async () => {
    const id = await resolved();
    await lifecycle.submit(id, { backend: 'http://a', promptId: 'q1', workflow });
    await lifecycle.fail(id, { code: 'comfyui_validation', message: 'bad', details: [{ node: '3', message: 'x' }] });
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'failed', errorDetails: [{ node: '3', message: 'x' }] });
    const before = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect((await lifecycle.retry(id, { reason: 'again', newSeed: true }))?.payload).toEqual({ jobId: id, reason: 'again', attempt: 2, seq: 4 });
    const after = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(after).toMatchObject({ status: 'queued', stage: 'resolved', errorDetails: null, errorCode: null, progressValue: null });
    expect(after.seed).not.toBe(before.seed);
    expect(after.request).toEqual({ ...(before.request as object), seed: Number(after.seed) });
  });

  it('when a rendered job is filed with its Asset rows, then one statement stores the rows as Prisma reads them and the event; refused, it stores neither', async () => {
    const rendered = async () => {
      const id = await resolved();
      await lifecycle.submit(id, { backend: 'http://a', promptId: `f-${id}`, workflow });
      await lifecycle.render(id, { backend: 'http://a', promptId: `f-${id}`, items: [] });
      return id;
    };
    const rowFor = (jobId: string, n: number) => ({
      id: crypto.randomUUID(), jobId, characterVersionId: resolution.characterVersionId, sourceKey: `9/output//img_${n}.png`, path: `p/e/s/kai/${jobId}_${n}.png`,
      sha256: 'ab'.repeat(32), bytes: 1730, width: 64, height: 64, mime: 'image/png', status: 'active', project: 'p', episode: 'e', scene: 's', shot: null,
      metadata: { outfit: null, references: [], comfyui: { backend: 'http://a', n } }, createdAt: new Date(),
    });
    const id = await rendered();
    const rows = [rowFor(id, 1), rowFor(id, 2)];
    const query = jest.spyOn(poolOf(db), 'query');
    let filed;
    try {
      filed = await lifecycle.fileWithAssets(id, [], rows);
      expect(query).toHaveBeenCalledTimes(1);
    } finally {
      query.mockRestore();
    }
    expect(filed).toEqual({ earlier: 0, completed: { name: 'job:completed', seq: 3, payload: { jobId: id, assets: [], seq: 3 }, origin: { source: 'test', requestId: null } } });
    expect(await db.asset.findMany({ where: { jobId: id }, orderBy: { sourceKey: 'asc' } })).toEqual(rows);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', stage: 'filed' });
    expect(await story(id)).toEqual([1, 2, 3]);
    // Filed already: the guard refuses, and nothing more is inserted.
    expect(await lifecycle.fileWithAssets(id, [], [rowFor(id, 3)])).toEqual({ earlier: 2, completed: null });
    expect(await db.asset.count({ where: { jobId: id } })).toBe(2);

    const canceled = await rendered();
    await lifecycle.cancel(canceled);
    expect(await lifecycle.fileWithAssets(canceled, [], [rowFor(canceled, 1)])).toEqual({ earlier: 0, completed: null });
    expect(await db.asset.count({ where: { jobId: canceled } })).toBe(0);

    // An earlier filing recorded one output on its own: refused, for the caller to record over it.
    const recorded = await rendered();
    await db.asset.create({ data: rowFor(recorded, 1) });
    expect(await lifecycle.fileWithAssets(recorded, [], [rowFor(recorded, 1), rowFor(recorded, 2)])).toEqual({ earlier: 1, completed: null });
    expect(await db.asset.count({ where: { jobId: recorded } })).toBe(1);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id: recorded } })).toMatchObject({ status: 'running', stage: 'rendered' });
  });

  it('when a later filing try claims the filing, then the earlier try records no Asset and completes nothing, the owner does, and once filed the filing cannot be claimed', async () => {
    const id = await resolved();
    await lifecycle.submit(id, { backend: 'http://a', promptId: `c-${id}`, workflow });
    await lifecycle.render(id, { backend: 'http://a', promptId: `c-${id}`, items: [] });
    const row = {
      id: crypto.randomUUID(), jobId: id, characterVersionId: resolution.characterVersionId, sourceKey: '9/output//img_1.png', path: `p/e/s/kai/${id}_1.png`,
      sha256: 'ab'.repeat(32), bytes: 1730, width: 64, height: 64, mime: 'image/png', status: 'active', project: 'p', episode: 'e', scene: 's', shot: null,
      metadata: { outfit: null, references: [] }, createdAt: new Date(),
    };
    const [earlier, later] = [crypto.randomUUID(), crypto.randomUUID()];
    expect(await lifecycle.claimFiling(id, earlier)).toBe(true);
    expect(await lifecycle.claimFiling(id, later)).toBe(true);
    expect(await lifecycle.fileWithAssets(id, [], [row], earlier)).toEqual({ earlier: 0, completed: null });
    expect(await lifecycle.file(id, [], earlier)).toBeNull();
    // A caller naming no try may complete only a filing nobody claimed.
    expect(await lifecycle.file(id, [])).toBeNull();
    expect(await db.asset.count({ where: { jobId: id } })).toBe(0);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered' });
    expect((await lifecycle.fileWithAssets(id, [], [row], later)).completed).toMatchObject({ name: 'job:completed' });
    expect(await db.asset.count({ where: { jobId: id } })).toBe(1);
    expect(await lifecycle.claimFiling(id, crypto.randomUUID())).toBe(false);
  });

  it('when a generation is loaded, then it is the row with its character and version as Prisma includes them, in one statement', async () => {
    const include = { character: { select: { id: true, slug: true, name: true } }, characterVersion: { select: { id: true, number: true } } } as const;
    const withCharacter = await resolved();
    const without = (await lifecycle.create({ body: body(), source: 'test' })).job.id;
    const query = jest.spyOn(poolOf(db), 'query');
    let loaded;
    try {
      loaded = await loadGeneration(db, withCharacter);
      expect(query).toHaveBeenCalledTimes(1);
    } finally {
      query.mockRestore();
    }
    expect(loaded).toEqual(await db.generationJob.findUnique({ where: { id: withCharacter }, include }));
    expect((await loadGeneration(db, withCharacter))?.character).toEqual({ id: resolution.characterId, slug: 'kai', name: 'Kai' });
    expect(await loadGeneration(db, without)).toEqual(await db.generationJob.findUnique({ where: { id: without }, include }));
    expect(await loadGeneration(db, '00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it("when attempts are submitted, then each graph is stored once, on its attempt (the job's row, rewritten at every change, carries no copy), and the row the stages read has the latest attempt's", async () => {
    const id = await resolved();
    const other = { '1': { class_type: 'EmptyImage', inputs: { width: 64 } }, '2': { class_type: 'SaveImage', inputs: { images: ['1', 0] } } };
    const stored = async () => (await poolOf(db).query<{ job: unknown; attempts: unknown[] }>(
      `SELECT j.workflow AS job, (SELECT json_agg(a.workflow ORDER BY a.number) FROM job_attempts a WHERE a."jobId" = j.id) AS attempts FROM generation_jobs j WHERE j.id = $1`, [id])).rows[0];
    expect((await loadGeneration(db, id))?.workflow).toBeNull();
    await lifecycle.submit(id, { backend: 'http://a', promptId: `w1-${id}`, workflow });
    expect(await stored()).toEqual({ job: null, attempts: [workflow] });
    expect((await loadGeneration(db, id))?.workflow).toEqual(workflow);
    await lifecycle.resubmit(id, { backend: 'http://b', promptId: `w2-${id}`, workflow: other }, 'backend_lost');
    expect(await stored()).toEqual({ job: null, attempts: [workflow, other] });
    expect((await loadGeneration(db, id))?.workflow).toEqual(other);
    await lifecycle.render(id, { backend: 'http://b', promptId: `w2-${id}`, items: [] });
    expect((await lifecycle.loadClaimingFiling(id, crypto.randomUUID())).generation?.workflow).toEqual(other);
  });

  it("when a row is from before attempts recorded their graph (the job's row holds it, its attempts none), then the row the stages read still has it", async () => {
    const id = await resolved();
    await lifecycle.submit(id, { backend: 'http://a', promptId: `old-${id}`, workflow });
    await poolOf(db).query(`UPDATE job_attempts SET workflow = NULL WHERE "jobId" = $1`, [id]);
    await poolOf(db).query(`UPDATE generation_jobs SET workflow = $2::jsonb WHERE id = $1`, [id, JSON.stringify(workflow)]);
    expect((await loadGeneration(db, id))?.workflow).toEqual(workflow);
    await lifecycle.render(id, { backend: 'http://a', promptId: `old-${id}`, items: [] });
    expect((await lifecycle.loadClaimingFiling(id, crypto.randomUUID())).generation?.workflow).toEqual(workflow);
  });
});
