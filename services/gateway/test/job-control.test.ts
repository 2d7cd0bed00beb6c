import { jobControlChannel } from '@anime/contracts';
import type { Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createRedis, JobControlPublisher, JobEventPublisher, JobLifecycle, MAX_GENERATION_EVENTS } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { cancelGeneration } from '../src/domain/cancel-generation';
import { kaiDefinition } from './fixtures';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('job-control');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

const create = async () => (await api.post('/api/v1/generations', { character: 'kai', prompt: 'on a rooftop' })).body.id as string;

describe('POST /api/v1/generations/:id/cancel and /retry (gateway alone)', () => {
  it('when a generation is in a backend, then the cancel is recorded in its row and the orchestrator is told on the control channel; the gateway applies nothing itself', async () => {
    const id = await create();
    await new JobLifecycle(gateway.db).submit(id, { backend: 'http://gpu-1', promptId: 'p-1', workflow: {} });
    const subscriber = createRedis(TEST_REDIS_URL, 'subscriber');
    const messages: unknown[] = [];
    subscriber.on('message', (_channel, raw) => messages.push(JSON.parse(raw)));
    await subscriber.subscribe(jobControlChannel(gateway.queuePrefix));
    try {
      const first = await api.post(`/api/v1/generations/${id}/cancel`);
      expect(first.status).toBe(202);
      expect(first.body).toMatchObject({ id, status: 'running', stage: 'submitted' });
      const { cancelRequestedAt } = await gateway.db.generationJob.findUniqueOrThrow({ where: { id } });
      expect(cancelRequestedAt).not.toBeNull();
      expect((await api.post(`/api/v1/generations/${id}/cancel`)).status).toBe(202);
      await waitFor(() => messages.length === 2, 'two control messages');
      expect(messages).toEqual([{ type: 'cancel', generationId: id }, { type: 'cancel', generationId: id }]);
      // Repeated: the first request's time is kept.
      expect((await gateway.db.generationJob.findUniqueOrThrow({ where: { id } })).cancelRequestedAt).toEqual(cancelRequestedAt);
    } finally {
      subscriber.disconnect();
    }
  });

  /** `db`, except that its first read of the generation is answered only once `meanwhile` ran (what another process did between the read and what follows). */
  const afterFirstRead = (db: Db, meanwhile: () => Promise<unknown>): Db => {
    let raced = false;
    const bound = (target: object, key: PropertyKey) => {
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    };
    const jobs = new Proxy(db.generationJob, {
      get: (target, key) =>
        key !== 'findUnique'
          ? bound(target, key)
          : async (args: Parameters<Db['generationJob']['findUnique']>[0]) => {
              const row = await target.findUnique(args);
              if (!raced) {
                raced = true;
                await meanwhile();
              }
              return row;
            },
    });
    return new Proxy(db, { get: (target, key) => (key === 'generationJob' ? jobs : bound(target, key)) });
  };

  it('when an orchestrator submits a queued generation between the cancel reading it and applying it, then the prompt in the backend is not canceled behind the orchestrator: the request is recorded and the orchestrator told', async () => {
    const id = await create();
    const db = afterFirstRead(gateway.db, () => new JobLifecycle(gateway.db).submit(id, { backend: 'http://gpu-1', promptId: 'p-raced', workflow: {} }));
    const redis = createRedis(TEST_REDIS_URL, 'worker');
    const subscriber = createRedis(TEST_REDIS_URL, 'subscriber');
    const messages: unknown[] = [];
    subscriber.on('message', (_channel, raw) => messages.push(JSON.parse(raw)));
    await subscriber.subscribe(jobControlChannel(gateway.queuePrefix));
    try {
      const deps = { db, events: new JobEventPublisher(redis, gateway.queuePrefix), control: new JobControlPublisher(redis, gateway.queuePrefix), queues: gateway.queues, log: createLogger('gateway', 'error') };
      await cancelGeneration(deps, id);
      // Canceled here, the orchestrator would follow its prompt to the end and publish job:submitted after job:canceled.
      const row = await gateway.db.generationJob.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({ status: 'running', stage: 'submitted', errorCode: null });
      expect(row.cancelRequestedAt).not.toBeNull();
      expect((await gateway.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type)).toEqual(['job:queued', 'job:submitted']);
      await waitFor(() => messages.length === 1, 'the control message');
      expect(messages).toEqual([{ type: 'cancel', generationId: id }]);
    } finally {
      subscriber.disconnect();
      redis.disconnect();
    }
  });

  it('when a queued generation is canceled, then it is canceled at once; retried, it is queued again on generation-renders', async () => {
    const id = await create();
    const canceled = await api.post(`/api/v1/generations/${id}/cancel`);
    expect(canceled.body).toMatchObject({ status: 'canceled', stage: 'resolved', error: { code: 'canceled' } });
    const retried = await api.post(`/api/v1/generations/${id}/retry`, {});
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ status: 'queued', stage: 'resolved', error: null });
    expect(await gateway.queues.byKey.generationRenders.getJob(`render-${id}`)).toBeTruthy();
  });

  it('when a generation has ended, then canceling a canceled one again is 202 (repeating is harmless: #14), a failed one 409 not_cancelable naming its status, and neither row changes', async () => {
    const canceled = await create();
    expect((await api.post(`/api/v1/generations/${canceled}/cancel`)).status).toBe(202);
    const lifecycle = new JobLifecycle(gateway.db);
    const failed = await create();
    await lifecycle.submit(failed, { backend: 'http://gpu-1', promptId: 'p-failed', workflow: {} });
    await lifecycle.fail(failed, { code: 'comfyui_execution', message: 'CUDA out of memory' });
    const unchanged = async (id: string, cancelAgain: () => Promise<void>) => {
      const before = await gateway.db.generationJob.findUniqueOrThrow({ where: { id } });
      await cancelAgain();
      expect(await gateway.db.generationJob.findUniqueOrThrow({ where: { id } })).toEqual(before);
    };
    await unchanged(canceled, async () => {
      const again = await api.post(`/api/v1/generations/${canceled}/cancel`);
      expect({ status: again.status, generation: again.body.status }).toEqual({ status: 202, generation: 'canceled' });
    });
    await unchanged(failed, async () => {
      const again = await api.post(`/api/v1/generations/${failed}/cancel`);
      expect({ status: again.status, error: again.body.error }).toEqual({ status: 409, error: { code: 'not_cancelable', message: expect.any(String), details: { status: 'failed' } } });
    });
  });

  it('when a queued generation whose render job an orchestrator handed back (delayed) is canceled, then that job is brought forward, to end now rather than once its delay is over', async () => {
    const id = await create();
    const renders = gateway.queues.byKey.generationRenders;
    // As an orchestrator leaves it: handed back to its queue, delayed (with a deep backlog, up to 15 min).
    await renders.remove(`render-${id}`);
    await gateway.queues.enqueue('generationRenders', { schemaVersion: 1, generationId: id }, { priority: 'normal', delayMs: 10 * 60_000 });
    expect(await renders.getJobState(`render-${id}`)).toBe('delayed');
    const canceled = await api.post(`/api/v1/generations/${id}/cancel`);
    expect(canceled.body).toMatchObject({ status: 'canceled', stage: 'resolved' });
    // Before: still delayed, its generation canceled, for the rest of its delay.
    expect(['waiting', 'prioritized']).toContain(await renders.getJobState(`render-${id}`));
  });

  /** Stored events (what a subscribe replays) added as cancel-and-retry rounds add them, until the history holds `total`. */
  const growHistory = async (id: string, total: number) => {
    const { eventSeq } = await gateway.db.generationJob.findUniqueOrThrow({ where: { id } });
    const add = total - (await gateway.db.jobEvent.count({ where: { jobId: id } }));
    await gateway.db.jobEvent.createMany({
      data: Array.from({ length: add }, (_, i) => ({ jobId: id, seq: eventSeq + 1 + i, type: i % 2 ? 'job:canceled' : 'job:retrying', payload: { jobId: id }, webhooksDispatched: true })),
    });
    await gateway.db.generationJob.update({ where: { id }, data: { eventSeq: eventSeq + add } });
  };

  it('when a generation has been canceled and retried so often that its history reached the cap, then a retry is 409 not_retryable saying so, and nothing changes', async () => {
    const id = await create();
    expect((await api.post(`/api/v1/generations/${id}/cancel`)).body).toMatchObject({ status: 'canceled' });
    // As hundreds of cancel-and-retry rounds leave it: one event short of the cap, a retry still runs.
    await growHistory(id, MAX_GENERATION_EVENTS - 1);
    expect((await api.post(`/api/v1/generations/${id}/retry`, {})).status).toBe(202);
    expect((await api.post(`/api/v1/generations/${id}/cancel`)).body).toMatchObject({ status: 'canceled' });
    const before = await gateway.db.generationJob.findUniqueOrThrow({ where: { id } });
    const events = await gateway.db.jobEvent.count({ where: { jobId: id } });
    expect(events).toBeGreaterThanOrEqual(MAX_GENERATION_EVENTS);
    const refused = await api.post(`/api/v1/generations/${id}/retry`, {});
    expect({ status: refused.status, error: refused.body.error }).toEqual({
      status: 409,
      error: { code: 'not_retryable', message: expect.stringContaining('retried too often'), details: { status: 'canceled', events, max: MAX_GENERATION_EVENTS } },
    });
    expect(await gateway.db.generationJob.findUniqueOrThrow({ where: { id } })).toEqual(before);
  });

  it('when a generation failed after a long render (each sampler step reserves a seq for its progress, which is not stored), then its history is short and a retry runs', async () => {
    const id = await create();
    const lifecycle = new JobLifecycle(gateway.db);
    await lifecycle.submit(id, { backend: 'http://gpu-1', promptId: 'p-long', workflow: {} });
    // Seven sampler passes of 150 steps: each tick's statement reserves a seq per step left.
    for (let pass = 0; pass < 7; pass++) expect(await lifecycle.progress(id, { value: 1, max: 150, node: '3' }, 150)).not.toBeNull();
    await lifecycle.fail(id, { code: 'comfyui_execution', message: 'CUDA out of memory' });
    expect((await gateway.db.generationJob.findUniqueOrThrow({ where: { id } })).eventSeq).toBeGreaterThanOrEqual(MAX_GENERATION_EVENTS);
    expect(await gateway.db.jobEvent.count({ where: { jobId: id } })).toBeLessThan(10);

    const retried = await api.post(`/api/v1/generations/${id}/retry`, {});
    expect({ status: retried.status, body: retried.body }).toMatchObject({ status: 202, body: { status: 'queued', stage: 'resolved' } });
  });

  it('when a worker takes the retried generation before the gateway answers, then the answer still reads queued (as the retry left it)', async () => {
    const id = await create();
    await api.post(`/api/v1/generations/${id}/cancel`);
    // An orchestrator on a fast machine: the job is in a backend by the time the hand-off returns.
    const enqueueStage = gateway.queues.enqueueStage;
    gateway.queues.enqueueStage = async (generation, options) => {
      const key = await enqueueStage(generation, options);
      await new JobLifecycle(gateway.db).submit(generation.id, { backend: 'http://gpu-1', promptId: 'p-2', workflow: {} });
      return key;
    };
    try {
      const retried = await api.post(`/api/v1/generations/${id}/retry`, {});
      expect(retried.status).toBe(202);
      expect(retried.body).toMatchObject({ id, status: 'queued', stage: 'resolved', error: null });
      expect((await api.get(`/api/v1/generations/${id}`)).body).toMatchObject({ status: 'running', stage: 'submitted' });
    } finally {
      gateway.queues.enqueueStage = enqueueStage;
    }
  });

  it('when the id is unknown or not a uuid, then 404 not_found or 400 validation_failed', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await api.post(`/api/v1/generations/${unknown}/cancel`)).body.error.code).toBe('not_found');
    expect((await api.post(`/api/v1/generations/${unknown}/retry`)).body.error.code).toBe('not_found');
    expect((await api.post('/api/v1/generations/nope/cancel')).status).toBe(400);
  });
});
