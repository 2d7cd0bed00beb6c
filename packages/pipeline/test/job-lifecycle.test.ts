import { generationRequestBodySchema, JOB_STAGES, type JobStage, type JobStatus } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { BackendDrainingError, JobLifecycle, progressSeqsFor } from '../src/lifecycle/job-lifecycle';
import { allows, TRANSITIONS, type TransitionName } from '../src/lifecycle/transitions';

const STATUSES: JobStatus[] = ['queued', 'running', 'completed', 'failed', 'canceled'];
const body = () => generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' });
const conditioning = { positive: 'p', negative: 'n', loras: [], references: [], outfit: null };
const workflow = { '1': { class_type: 'SaveImage', inputs: {} } };

describe('JobLifecycle', () => {
  let database: TestDatabase;
  let db: Db;
  let lifecycle: JobLifecycle;
  let characterId: string;
  let versionId: string;

  beforeAll(async () => {
    database = await createTestDatabase('job-lifecycle');
    db = createDb(database.url, { max: 4 });
    lifecycle = new JobLifecycle(db);
    const character = await db.character.create({ data: { slug: 'kai', name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    characterId = character.id;
    versionId = version.id;
  });

  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  const resolution = () => ({ characterId, characterVersionId: versionId, conditioning });
  const created = async () => (await lifecycle.create({ body: body(), source: 'test' })).job.id;
  let prompts = 0;
  const attempt = () => ({ backend: 'http://a', promptId: `p${++prompts}`, workflow });

  /** Each transition through its JobLifecycle method; true when it applied. */
  const APPLY: Record<TransitionName, (id: string) => Promise<unknown>> = {
    resolve: (id) => lifecycle.resolve(id, resolution()),
    submit: (id) => lifecycle.submit(id, attempt()),
    resubmit: async (id) => ((await lifecycle.resubmit(id, attempt(), 'backend_removed')).length ? true : null),
    render: (id) => lifecycle.render(id, { backend: 'http://a', promptId: 'p', items: [] }),
    file: (id) => lifecycle.file(id, []),
    fail: (id) => lifecycle.fail(id, { code: 'internal', message: 'boom' }),
    cancel: (id) => lifecycle.cancel(id),
    cancelAtOnce: (id) => lifecycle.cancelAtOnce(id),
    retryRequest: (id) => lifecycle.retryStage(id, 'generationRequests', 'test'),
    retryRender: (id) => lifecycle.retryStage(id, 'generationRenders', 'test'),
    retryFiling: (id) => lifecycle.retryStage(id, 'assetFiling', 'test'),
    rerender: (id) => lifecycle.rerender(id, 'test'),
  };
  const applied = (result: unknown) => result !== null && result !== false;
  const state = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id }, select: { status: true, stage: true } });

  it('when every transition is tried from every status and stage, then exactly the table allows it, it moves the job to its target once, and a replay is a no-op', async () => {
    const report: string[] = [];
    for (const name of Object.keys(TRANSITIONS) as TransitionName[]) {
      for (const status of STATUSES) {
        for (const stage of JOB_STAGES) {
          const id = await created();
          await db.$executeRaw`UPDATE generation_jobs SET status = ${status}::"JobStatus", stage = ${stage}::"JobStage" WHERE id = ${id}::uuid`;
          const first = applied(await APPLY[name](id));
          const expected = allows(name, { status, stage });
          if (first !== expected) report.push(`${name} from ${status}/${stage}: applied=${first}, table says ${expected}`);
          const after = await state(id);
          const target = TRANSITIONS[name].to as { status: JobStatus; stage?: JobStage };
          const want = expected ? { status: target.status, stage: target.stage ?? stage } : { status, stage };
          if (after.status !== want.status || after.stage !== want.stage) report.push(`${name} from ${status}/${stage}: now ${after.status}/${after.stage}`);
          // A replay applies again only when the target state is itself a source (resubmit: a new attempt each time).
          if (expected && applied(await APPLY[name](id)) !== allows(name, after)) report.push(`${name} from ${status}/${stage}: replay not refused`);
        }
      }
    }
    expect(report).toEqual([]);
  });

  it('when a job runs, then queued, started, progress and completed take increasing seqs and only the stored story keeps lifecycle events', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    const started = await lifecycle.submit(id, attempt());
    const first = await lifecycle.progress(id, { value: 1, max: 4, node: '3' });
    const second = await lifecycle.progress(id, { value: 2, max: 4, node: '3' });
    expect(await lifecycle.render(id, { backend: 'http://a', promptId: 'p', items: [] })).toBe(true);
    expect(await lifecycle.progress(id, { value: 3, max: 4, node: '3' })).toBeNull();
    const done = await lifecycle.file(id, []);
    expect([started!.seq, first!.seq, second!.seq, done!.seq]).toEqual([2, 3, 4, 5]);
    expect(second!.payload).toEqual({ jobId: id, value: 2, max: 4, node: '3', seq: 4 });

    const row = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
    expect(row).toMatchObject({ status: 'completed', stage: 'filed', progressValue: 2, progressSeq: 4, eventSeq: 5 });
    expect(row.attempts).toHaveLength(1);
    expect(row.attempts[0].finishedAt).not.toBeNull();
    const events = await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => [e.seq, e.type])).toEqual([[1, 'job:queued'], [2, 'job:submitted'], [5, 'job:completed']]);
  });

  it('when progress arrives, then updatedAt moves to now, which the recovery sweep compares with', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, attempt());
    await db.$executeRaw`UPDATE generation_jobs SET "updatedAt" = '2000-01-01' WHERE id = ${id}::uuid`;
    await lifecycle.progress(id, { value: 1, max: 2, node: null });
    const { updatedAt } = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(Math.abs(updatedAt.getTime() - Date.now())).toBeLessThan(5_000);
  });

  it('when a job is resubmitted, then the open attempt ends with the declared reason and the next one opens', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, attempt());
    const events = await lifecycle.resubmit(id, { backend: 'http://b', promptId: 'other', workflow }, 'backend_removed');
    expect(events.map((e) => [e.name, e.payload])).toEqual([
      ['job:retrying', { jobId: id, attempt: 2, reason: expect.stringContaining('backend_removed'), seq: 3 }],
      ['job:submitted', { jobId: id, backend: 'http://b', attempt: 2, seq: 4 }],
    ]);
    const attempts = await db.jobAttempt.findMany({ where: { jobId: id }, orderBy: { number: 'asc' } });
    expect(attempts.map((a) => [a.number, a.backend, (a.error as { code?: string } | null)?.code ?? null])).toEqual([[1, 'http://a', 'backend_removed'], [2, 'http://b', null]]);
    // Each attempt keeps the exact graph it sent.
    expect(attempts.map((a) => a.workflow)).toEqual([workflow, workflow]);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ backend: 'http://b', promptId: 'other' });
  });

  it("when a job is resubmitted, then the ended attempt's progress goes with it, and its ticks stored late are refused; the new attempt's are kept", async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, attempt());
    // Attempt 1 reached 31 of 60, reserving seqs for its next ticks (published, stored later).
    const tick = await lifecycle.progress(id, { value: 31, max: 60, node: '3' }, 5);
    expect(tick).not.toBeNull();
    await lifecycle.resubmit(id, { backend: 'http://b', promptId: 'other', workflow }, 'backend_lost');
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ progressValue: null, progressMax: null, progressNode: null });
    expect(await lifecycle.keepProgress(id, { value: 33, max: 60, node: '3' }, tick!.payload.seq + 2)).toBe(false);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ progressValue: null });
    const next = await lifecycle.progress(id, { value: 2, max: 60, node: '3' });
    expect(next!.payload.seq).toBeGreaterThan(tick!.payload.seq + 4);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ progressValue: 2, progressMax: 60 });
  });

  it('when the backend is marked draining, then submit and resubmit to it record nothing and throw BackendDrainingError; another backend takes the prompt', async () => {
    await db.backend.create({ data: { id: 'drainingxxxx', url: 'http://draining', state: 'up', draining: true, drainedAt: new Date() } });
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await expect(lifecycle.submit(id, { backend: 'http://draining', promptId: 'd1', workflow })).rejects.toBeInstanceOf(BackendDrainingError);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'queued', stage: 'resolved', eventSeq: 1, backend: null });
    expect(await db.jobAttempt.count({ where: { jobId: id } })).toBe(0);
    expect(await lifecycle.submit(id, { backend: 'http://a', promptId: 'a1', workflow })).toMatchObject({ name: 'job:submitted', seq: 2 });
    await expect(lifecycle.resubmit(id, { backend: 'http://draining', promptId: 'd2', workflow }, 'backend_lost')).rejects.toBeInstanceOf(BackendDrainingError);
    expect(await db.jobAttempt.findMany({ where: { jobId: id } })).toEqual([expect.objectContaining({ number: 1, backend: 'http://a', finishedAt: null })]);
    expect((await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type)).toEqual(['job:queued', 'job:submitted']);
    // A refusal for the job's state is still null, never the drain error.
    await db.backend.update({ where: { id: 'drainingxxxx' }, data: { draining: false } });
    expect(await lifecycle.submit(id, { backend: 'http://draining', promptId: 'd3', workflow })).toBeNull();
  });

  it('when ComfyUI starts the open attempt, then it gets startedAt and job:started once; a notice for an older attempt records nothing', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, { backend: 'http://a', promptId: 'first', workflow });
    await lifecycle.resubmit(id, { backend: 'http://b', promptId: 'second', workflow }, 'backend_lost');
    expect(await lifecycle.started(id, 'first')).toBeNull();
    const started = await lifecycle.started(id, 'second');
    expect(started?.payload).toMatchObject({ jobId: id, backend: 'http://b', attempt: 2 });
    expect(await lifecycle.started(id, 'second')).toBeNull();
    const attempts = await db.jobAttempt.findMany({ where: { jobId: id }, orderBy: { number: 'asc' } });
    expect(attempts.map((a) => [a.number, a.startedAt !== null, (a.error as { code?: string } | null)?.code ?? null])).toEqual([[1, false, 'backend_lost'], [2, true, null]]);
  });

  it('when the first tick comes before the started notice was written, then one statement records job:started then job:progress, as the two would', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, { backend: 'http://a', promptId: 'both', workflow });
    const events = await lifecycle.startedWithProgress(id, 'both', { value: 1, max: 4, node: '3' });
    expect(events.map((e) => [e.name, e.seq, e.payload])).toEqual([
      ['job:started', 3, { jobId: id, backend: 'http://a', attempt: 1, seq: 3 }],
      ['job:progress', 4, { jobId: id, value: 1, max: 4, node: '3', seq: 4 }],
    ]);
    // The notice again (a replay): only the tick is recorded, with the next seq; then a plain tick goes on from there.
    expect((await lifecycle.startedWithProgress(id, 'both', { value: 2, max: 4, node: '3' })).map((e) => [e.name, e.seq])).toEqual([['job:progress', 5]]);
    expect((await lifecycle.progress(id, { value: 3, max: 4, node: '3' }))?.seq).toBe(6);
    const row = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
    expect(row).toMatchObject({ eventSeq: 6, progressSeq: 6, progressValue: 3, progressMax: 4, progressNode: '3' });
    expect(row.attempts[0].startedAt).not.toBeNull();
    const story = await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
    expect(story.map((e) => [e.seq, e.type, e.payload])).toEqual([
      [1, 'job:queued', { jobId: id, seq: 1 }],
      [2, 'job:submitted', { jobId: id, backend: 'http://a', attempt: 1, seq: 2 }],
      [3, 'job:started', { jobId: id, backend: 'http://a', attempt: 1, seq: 3 }],
    ]);
    // Over (rendered): nothing is recorded.
    await lifecycle.render(id, { backend: 'http://a', promptId: 'both', items: [] });
    expect(await lifecycle.startedWithProgress(id, 'both', { value: 4, max: 4, node: '3' })).toEqual([]);
    expect((await db.generationJob.findUniqueOrThrow({ where: { id } })).eventSeq).toBe(6);
  });

  it('when a tick reserves seqs for the steps left, then the next event comes after them, and a reserved tick is stored by keepProgress or with the outputs, never an older one', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, { ...attempt(), promptId: 'reserving' });
    const [started, first] = await lifecycle.startedWithProgress(id, 'reserving', { value: 1, max: 6, node: '3' }, progressSeqsFor({ value: 1, max: 6, node: '3' }));
    expect([started.seq, first.seq]).toEqual([3, 4]);
    // Seqs 4..9 are the six steps' ticks: the job's counter is past them.
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ eventSeq: 9, progressSeq: 4, progressValue: 1 });
    expect(await lifecycle.keepProgress(id, { value: 3, max: 6, node: '3' }, 6)).toBe(true);
    // An older tick, or a seq never reserved, is not stored.
    expect(await lifecycle.keepProgress(id, { value: 2, max: 6, node: '3' }, 5)).toBe(false);
    expect(await lifecycle.keepProgress(id, { value: 9, max: 6, node: '3' }, 10)).toBe(false);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ progressSeq: 6, progressValue: 3 });
    expect(await lifecycle.render(id, { backend: 'http://a', promptId: 'reserving', items: [] }, { tick: { value: 6, max: 6, node: '3' }, seq: 9 })).toBe(true);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ stage: 'rendered', eventSeq: 9, progressSeq: 9, progressValue: 6, progressMax: 6, progressNode: '3' });
    // Not running there any more: nothing is kept.
    expect(await lifecycle.keepProgress(id, { value: 6, max: 6, node: '3' }, 9)).toBe(false);
  });

  it('when the started notice reserves seqs for ticks, then job:started takes the first and the next event comes after the reserved ones; a late notice reserves nothing', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, { ...attempt(), promptId: 'ahead' });
    expect((await lifecycle.started(id, 'ahead', 20))?.seq).toBe(3);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ eventSeq: 23 });
    expect((await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => [e.seq, e.type])).toEqual([[1, 'job:queued'], [2, 'job:submitted'], [3, 'job:started']]);
    expect(await lifecycle.started(id, 'ahead', 20)).toBeNull();
    expect((await db.generationJob.findUniqueOrThrow({ where: { id } })).eventSeq).toBe(23);
    expect((await lifecycle.progress(id, { value: 21, max: 22, node: '3' }, 2))?.seq).toBe(24);
  });

  it('when the outputs are recorded with no unstored tick (or an older one), then the stored progress stays as it was', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, { ...attempt(), promptId: 'kept' });
    await lifecycle.progress(id, { value: 1, max: 2, node: '3' }, 2);
    await lifecycle.keepProgress(id, { value: 2, max: 2, node: '3' }, 4);
    expect(await lifecycle.render(id, { backend: 'http://a', promptId: 'kept', items: [] }, { tick: { value: 1, max: 2, node: '3' }, seq: 3 })).toBe(true);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ eventSeq: 4, progressSeq: 4, progressValue: 2 });
    const other = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(other, { ...attempt(), promptId: 'none' });
    expect(await lifecycle.render(other, { backend: 'http://a', promptId: 'none', items: [] })).toBe(true);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id: other } })).toMatchObject({ stage: 'rendered', progressSeq: null, progressValue: null });
  });

  it('when a failed job is retried at its stage, then its error is cleared, a job:retrying event is recorded and it can complete', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    await lifecycle.submit(id, attempt());
    await lifecycle.fail(id, { code: 'comfyui_unreachable', message: 'down', details: { url: 'x' } });
    const retrying = await lifecycle.retryStage(id, 'generationRenders', 'its generation-renders job was retried');
    expect(retrying?.name).toBe('job:retrying');
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'queued', stage: 'resolved', errorCode: null, errorDetails: null, finishedAt: null });
    expect(await lifecycle.submit(id, attempt())).not.toBeNull();
    expect(await db.jobAttempt.count({ where: { jobId: id } })).toBe(2);
  });

  it('when a cancel is requested while the prompt is in a backend, then render is refused, cancel applies, and a retry re-opens it with a new seed as attempt 2', async () => {
    const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
    expect(await lifecycle.requestCancel(id)).toBe(false);
    await lifecycle.submit(id, attempt());
    expect(await lifecycle.requestCancel(id)).toBe(true);
    expect(await lifecycle.requestCancel(id)).toBe(true);
    expect(await lifecycle.render(id, { backend: 'http://a', promptId: 'p', items: [] })).toBe(false);
    expect((await lifecycle.cancel(id))?.name).toBe('job:canceled');
    const before = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(before).toMatchObject({ status: 'canceled', stage: 'submitted', errorCode: 'canceled' });

    const retrying = await lifecycle.retry(id, { reason: 'test', newSeed: true });
    expect(retrying?.payload).toMatchObject({ jobId: id, reason: 'test', attempt: 2 });
    const after = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(after).toMatchObject({ status: 'queued', stage: 'resolved', errorCode: null, cancelRequestedAt: null, finishedAt: null });
    expect(after.seed).not.toBe(before.seed);
    expect((after.request as { seed: number }).seed).toBe(Number(after.seed));
    expect(await lifecycle.retry(id, { reason: 'again' })).toBeNull();
    expect(await lifecycle.submit(id, attempt())).not.toBeNull();
    expect(await db.jobAttempt.count({ where: { jobId: id } })).toBe(2);
  });

  it('when a filing failed because ComfyUI no longer has the output (404 on /view), then a retry renders it again with the same seed; another filing failure is filed again', async () => {
    const failedAtFiling = async (details: unknown) => {
      const id = (await lifecycle.create({ body: body(), source: 'test', resolution: resolution() })).job.id;
      await lifecycle.submit(id, attempt());
      expect(await lifecycle.render(id, { backend: 'http://a', promptId: 'p', items: [] })).toBe(true);
      expect(await lifecycle.fail(id, { code: 'filing_failed', message: 'ComfyUI at http://a answered 404 to GET /view', details })).not.toBeNull();
      return id;
    };
    const gone = await failedAtFiling({ status: 404, request: 'GET /view?filename=x.png&subfolder=&type=temp' });
    const seed = (await db.generationJob.findUniqueOrThrow({ where: { id: gone } })).seed;
    expect(await lifecycle.retry(gone, { reason: 'test' })).toMatchObject({ payload: { attempt: 2 } });
    expect(await db.generationJob.findUniqueOrThrow({ where: { id: gone } })).toMatchObject({ status: 'queued', stage: 'resolved', outputs: null, seed });

    const refused = await failedAtFiling({ status: 500, request: 'GET /view?filename=x.png&subfolder=&type=output' });
    await lifecycle.retry(refused, { reason: 'test' });
    expect(await db.generationJob.findUniqueOrThrow({ where: { id: refused } })).toMatchObject({ status: 'running', stage: 'rendered' });
  });

  it('when one source sends the same requestId twice at once, then one generation exists; another source with the same requestId gets its own', async () => {
    const make = (source: string) => lifecycle.create({ body: body(), source, requestId: 'same-key' });
    const results = await Promise.all([make('alpha'), make('alpha'), make('alpha'), make('beta')]);
    const alpha = results.slice(0, 3);
    expect(new Set(alpha.map((r) => r.job.id)).size).toBe(1);
    expect(alpha.filter((r) => r.created)).toHaveLength(1);
    expect(results[3].job.id).not.toBe(alpha[0].job.id);
    expect(await db.generationJob.count({ where: { requestId: 'same-key' } })).toBe(2);
    expect(await db.jobEvent.count({ where: { jobId: alpha[0].job.id, type: 'job:queued' } })).toBe(1);
  });
});
