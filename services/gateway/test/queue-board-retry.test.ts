import axios from 'axios';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger } from '@anime/logger';
import { createRedis, createStageWorker, JobEventPublisher, JobLifecycle, MalformedDataError } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// bull-board's retry (one job, or every job of a status) against the generation's row: the same
// lifecycle path as POST /api/v1/generations/:id/retry (its owner's queue cap), and the same 409s.
// A render worker of its own runs here: it fails the generations a test names (a permanent fault,
// so the generation fails and its render job ends failed in BullMQ), and leaves any other queued
// (its job completes, the generation stays queued: it keeps counting in its key's share).
const MAX_QUEUED_PER_KEY = 2;

let gw: TestGateway;
let alpha: ReturnType<TestGateway['client']>;
let alphaKeyId: string;
let redis: Redis;
let worker: Worker;
const failing = new Set<string>();
/** Every generation id the worker ran, in order (a run after a board retry shows the generation ran again). */
const ran: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway('r34d-board-retry', { limits: { MAX_QUEUED_PER_KEY, RATE_LIMIT_RPS: 1_000_000 } });
  alpha = gw.client(await gw.mintKey({ name: 'alpha', scopes: ['read', 'generate'] }));
  alphaKeyId = (await gw.db.apiKey.findFirstOrThrow({ where: { name: 'alpha' } })).id;
  expect((await gw.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  redis = createRedis(TEST_REDIS_URL, 'worker');
  const log = createLogger('board-retry-worker', 'error');
  worker = createStageWorker(
    'generationRenders',
    {
      run: async (generation) => {
        ran.push(generation.id);
        if (failing.has(generation.id)) throw new MalformedDataError('the test fails this render');
        return { outcome: 'left queued' };
      },
    },
    { db: gw.db, queues: gw.queues, events: new JobEventPublisher(redis, gw.queuePrefix), connection: redis, prefix: gw.queuePrefix, log },
  );
  void worker.run();
  await worker.waitUntilReady();
});
afterAll(async () => {
  await worker?.close();
  redis?.disconnect();
  await gw?.close();
});

// Each test starts with alpha's share empty: whatever a test left queued (or re-opened) is over.
afterEach(async () => {
  await gw.db.generationJob.updateMany({ where: { apiKeyId: alphaKeyId, status: { in: ['queued', 'running'] } }, data: { status: 'completed', stage: 'filed' } });
});

const board = (method: string, path: string) => axios.request({ method, url: `${gw.baseUrl}/admin/queues/api${path}`, headers: gw.authHeaders, validateStatus: () => true });
const renders = () => gw.queues.byKey.generationRenders;
const row = (id: string) => gw.db.generationJob.findUniqueOrThrow({ where: { id } });
const activeOfAlpha = () => gw.db.generationJob.count({ where: { apiKeyId: alphaKeyId, status: { in: ['queued', 'running'] } } });
const eventsOf = async (id: string) => (await gw.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type);

/** A generation of alpha's whose render failed: the generation failed, its render job failed in BullMQ. */
async function failedGeneration(prompt: string): Promise<string> {
  const created = await alpha.post('/api/v1/generations', { character: 'kai', prompt });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  failing.add(id);
  await waitFor(async () => (await renders().getJobState(`render-${id}`)) === 'failed', `render-${id} to fail`, 10_000);
  expect((await row(id)).status).toBe('failed');
  return id;
}

/** A generation of alpha's left queued by the worker (its render job completed). */
async function queuedGeneration(prompt: string): Promise<string> {
  const created = await alpha.post('/api/v1/generations', { character: 'kai', prompt });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  await waitFor(async () => (await renders().getJobState(`render-${id}`)) === 'completed', `render-${id} to complete`, 10_000);
  return id;
}

/** Lets a worker that would take a retried job do so (nothing runs when the board refused). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 700));

describe("bull-board's retry of a stage job goes through the generation's lifecycle", () => {
  it('when an admin retries the failed render job of a failed generation with room in its key’s share, then it is 204 and the generation runs again, re-opened as a REST retry re-opens it', async () => {
    const id = await failedGeneration('board retry with room');
    failing.delete(id);
    const retried = await board('put', `/queues/generation-renders/render-${id}/retry`);
    expect(retried.status).toBe(204);
    await waitFor(() => ran.filter((r) => r === id).length === 2, 'the retried render to run', 10_000);
    expect(await row(id)).toMatchObject({ status: 'queued', stage: 'resolved', errorCode: null });
    expect(await eventsOf(id)).toEqual(['job:queued', 'job:failed', 'job:retrying']);
    const retrying = await gw.db.jobEvent.findFirstOrThrow({ where: { jobId: id, type: 'job:retrying' } });
    expect(retrying.payload).toMatchObject({ reason: 'its generation-renders job was retried from the queue board', attempt: 1 });
  });

  it('when admins retry the failed render job of a failed generation at once (two operators, a double click), then one retry is 204, the others a 4xx, and the generation runs again once', async () => {
    const id = await failedGeneration('board retry clicked twice');
    failing.delete(id);
    const answers = await Promise.all(Array.from({ length: 8 }, () => board('put', `/queues/generation-renders/render-${id}/retry`)));
    const outcomes = answers.map((answer) => (answer.status === 204 ? '204' : `${answer.status} ${answer.data.error?.code}`));
    expect(outcomes.filter((outcome) => outcome === '204')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome !== '204' && !['409 not_retryable', '400 job_not_retriable', '409 job_state_changed'].includes(outcome))).toEqual([]);
    await waitFor(() => ran.filter((r) => r === id).length === 2, 'the retried render to run', 10_000);
    await settle();
    expect(ran.filter((r) => r === id)).toHaveLength(2);
    expect(await eventsOf(id)).toEqual(['job:queued', 'job:failed', 'job:retrying']);
  });

  it('when an admin retries the completed render job of a generation that failed later, at filing, then it is 409 not_retryable naming the asset-filing job to retry instead, and nothing runs', async () => {
    const id = await queuedGeneration('failed at filing');
    await gw.db.generationJob.update({ where: { id }, data: { status: 'failed', stage: 'rendered', errorCode: 'filing_failed', errorMessage: 'test' } });
    const refused = await board('put', `/queues/generation-renders/render-${id}/retry`);
    await settle();
    expect({ status: refused.status, error: refused.data.error }).toEqual({
      status: 409,
      error: { code: 'not_retryable', message: expect.stringContaining('retry its asset-filing job instead'), details: { status: 'failed', stage: 'rendered' } },
    });
    expect(await renders().getJobState(`render-${id}`)).toBe('completed');
    expect(await row(id)).toMatchObject({ status: 'failed', stage: 'rendered' });
  });

  it('when an admin retries the failed render job of a generation whose key is at its MAX_QUEUED_PER_KEY, then it is 429 queue_full in the envelope, and nothing runs: the generation stays failed, the cap holds', async () => {
    const id = await failedGeneration('board retry at the cap');
    failing.delete(id);
    const others = [await queuedGeneration('fills the share 1'), await queuedGeneration('fills the share 2')];
    expect(await activeOfAlpha()).toBe(MAX_QUEUED_PER_KEY);

    const refused = await board('put', `/queues/generation-renders/render-${id}/retry`);
    await settle();
    // Before: 204, and the worker re-opened it (admitStage → reopen): alpha had 3 queued with a cap of 2.
    expect(await activeOfAlpha()).toBe(MAX_QUEUED_PER_KEY);
    expect({ status: refused.status, retryAfter: refused.headers['retry-after'], error: refused.data.error }).toEqual({
      status: 429,
      retryAfter: expect.any(String),
      error: { code: 'queue_full', message: expect.any(String), details: expect.objectContaining({ scope: 'key' }) },
    });
    expect(await row(id)).toMatchObject({ status: 'failed' });
    expect(await renders().getJobState(`render-${id}`)).toBe('failed');
    expect(ran.filter((r) => r === id)).toHaveLength(1);

    // With room again, the same retry runs it.
    await gw.db.generationJob.updateMany({ where: { id: { in: others } }, data: { status: 'completed', stage: 'filed' } });
    expect((await board('put', `/queues/generation-renders/render-${id}/retry`)).status).toBe(204);
    await waitFor(() => ran.filter((r) => r === id).length === 2, 'the retried render to run', 10_000);
    await gw.db.generationJob.update({ where: { id }, data: { status: 'completed', stage: 'filed' } });
  });

  it("when an admin retries the failed render job of a queue producer's generation (no key) while the API's keyless share is full, then it is 204: it counts in no share, as the REST retry counts it", async () => {
    const id = await failedGeneration('a producer generation');
    failing.delete(id);
    await gw.db.generationJob.update({ where: { id }, data: { apiKeyId: null, source: 'render-farm', requestId: 'board-farm-1' } });
    // The keyless share of generations made over the API (source 'api'), full.
    const keyless = [await queuedGeneration('keyless api 1'), await queuedGeneration('keyless api 2')];
    await gw.db.generationJob.updateMany({ where: { id: { in: keyless } }, data: { apiKeyId: null } });
    try {
      const retried = await board('put', `/queues/generation-renders/render-${id}/retry`);
      // Before: 429 queue_full, the early check counting the API's keyless share for it.
      expect(retried.status).toBe(204);
      await waitFor(() => ran.filter((r) => r === id).length === 2, 'the retried render to run', 10_000);
    } finally {
      await gw.db.generationJob.updateMany({ where: { id: { in: [id, ...keyless] } }, data: { status: 'completed', stage: 'filed' } });
    }
  });

  it('when an admin retries the completed render job of a canceled generation, then it is 409 not_retryable naming the REST retry, and the generation stays canceled', async () => {
    const created = await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'canceled then board retry' });
    const id = created.body.id as string;
    // Canceled while queued; its render job ends either way (left queued, or `done`: the generation is over).
    expect((await alpha.post(`/api/v1/generations/${id}/cancel`)).body).toMatchObject({ status: 'canceled' });
    await waitFor(async () => (await renders().getJobState(`render-${id}`)) === 'completed', 'the render job to end', 10_000);

    const refused = await board('put', `/queues/generation-renders/render-${id}/retry`);
    await settle();
    // Before: 204; the worker then failed the queue job ("nothing to run again"): the answer said it was retried.
    expect({ status: refused.status, error: refused.data.error }).toEqual({
      status: 409,
      error: { code: 'not_retryable', message: expect.stringContaining(`/api/v1/generations/${id}/retry`), details: { status: 'canceled', stage: 'resolved' } },
    });
    expect(await renders().getJobState(`render-${id}`)).toBe('completed');
    expect(await row(id)).toMatchObject({ status: 'canceled' });
    expect(await eventsOf(id)).toEqual(['job:queued', 'job:canceled']);
  });

  it('when an admin retries the completed render job of a generation still queued (or completed), then it is 409 not_retryable with its status, as the REST retry answers', async () => {
    const id = await queuedGeneration('still queued');
    const refused = await board('put', `/queues/generation-renders/render-${id}/retry`);
    expect({ status: refused.status, error: refused.data.error }).toEqual({
      status: 409,
      error: { code: 'not_retryable', message: expect.stringContaining('queued'), details: { status: 'queued', stage: 'resolved' } },
    });
    await gw.db.generationJob.update({ where: { id }, data: { status: 'completed', stage: 'filed' } });
    const completed = await board('put', `/queues/generation-renders/render-${id}/retry`);
    expect({ status: completed.status, error: completed.data.error }).toEqual({
      status: 409,
      error: { code: 'not_retryable', message: `generation ${id} is completed: generation-renders has nothing to run again`, details: { status: 'completed', stage: 'filed' } },
    });
    await settle();
    expect(await renders().getJobState(`render-${id}`)).toBe('completed');
    expect(ran.filter((r) => r === id)).toHaveLength(1);
  });

  it("when an admin retries every failed render job ('retry all') while the key has room for one of two, then one generation runs again and the other stays failed: the answer counts them, and the cap holds", async () => {
    const first = await failedGeneration('retry all 1');
    const second = await failedGeneration('retry all 2');
    for (const id of [first, second]) failing.delete(id);
    const filler = await queuedGeneration('leaves room for one');
    expect(await activeOfAlpha()).toBe(MAX_QUEUED_PER_KEY - 1);

    const answer = await board('put', '/queues/generation-renders/retry/failed');
    await settle();
    // Before: both re-opened by the worker (3 queued with a cap of 2).
    expect(await activeOfAlpha()).toBe(MAX_QUEUED_PER_KEY);
    expect({ status: answer.status, body: answer.data }).toEqual({ status: 200, body: { retried: 1, skipped: 1, refused: { queue_full: 1 } } });
    const statuses = [(await row(first)).status, (await row(second)).status].sort();
    expect(statuses).toEqual(['failed', 'queued']);
    expect(answer.headers['retry-after']).toBeUndefined();
    await gw.db.generationJob.updateMany({ where: { id: { in: [first, second, filler] } }, data: { status: 'completed', stage: 'filed' } });
  });

  it("when an admin adds (or duplicates) a render job naming a failed generation whose key is at its cap, then it is 409 generation_exists and nothing runs; a message naming no generation is still added", async () => {
    const id = await failedGeneration('added from the board');
    failing.delete(id);
    await queuedGeneration('fills the share 1');
    await queuedGeneration('fills the share 2');
    const add = (queue: string, data: unknown) =>
      axios.post(`${gw.baseUrl}/admin/queues/api/queues/${queue}/add`, { name: 'renderPrompt', data, options: {} }, { headers: gw.authHeaders, validateStatus: () => true });

    const refused = await add('generation-renders', { schemaVersion: 1, generationId: id });
    await settle();
    // Before: 200, and the worker re-opened the failed generation from the fresh job (admitStage → reopen): 3 queued with a cap of 2.
    expect(await activeOfAlpha()).toBe(MAX_QUEUED_PER_KEY);
    expect({ status: refused.status, error: refused.data.error }).toEqual({
      status: 409,
      error: { code: 'generation_exists', message: expect.stringContaining(`/api/v1/generations/${id}/retry`), details: { generationId: id, status: 'failed', stage: 'resolved' } },
    });
    expect(await row(id)).toMatchObject({ status: 'failed' });
    expect(await renders().count()).toBe(0);

    // A producer's new request (no generation yet) is bull-board's to add.
    const request = { schemaVersion: 1, source: 'farm', requestId: 'board-added', character: 'kai', prompt: 'new' };
    const added = await add('generation-requests', request);
    expect(added.status).toBe(200);
    await gw.queues.byKey.generationRequests.remove(added.data.job.id);
  });

  it('when bull-board itself refuses a retry (a job not finished, an unknown job or status), then its answer is unchanged', async () => {
    expect((await board('put', '/queues/generation-renders/render-00000000-0000-4000-8000-000000000000/retry')).status).toBe(404);
    expect((await board('put', '/queues/generation-renders/retry/waiting')).status).toBe(400);
    await renders().add('renderPrompt', { schemaVersion: 1, generationId: '00000000-0000-4000-8000-000000000001' }, { jobId: 'delayed-one', delay: 60_000 });
    const notFinished = await board('put', '/queues/generation-renders/delayed-one/retry');
    expect({ status: notFinished.status, code: notFinished.data.error?.code }).toEqual({ status: 400, code: 'job_not_retriable' });
    await renders().remove('delayed-one');
  });
});
