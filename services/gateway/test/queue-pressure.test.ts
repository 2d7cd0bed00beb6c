import { kaiDefinition } from './fixtures';
import { jsonClient, type JsonResponse } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// No orchestrator runs here: every generation posted stays queued.
const MAX_QUEUED_PER_KEY = 4;
const MAX_QUEUE_DEPTH = 5;

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('queue-pressure', { limits: { MAX_QUEUED_PER_KEY, MAX_QUEUE_DEPTH } });
  api = jsonClient(gateway.baseUrl);
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

const post = (n: number) => api.post('/api/v1/generations', { character: 'kai', prompt: `frame ${n}` });

function expectQueueFull(response: JsonResponse, scope: 'key' | 'global', limit: number) {
  expect(response.status).toBe(429);
  expect(response.body.error).toMatchObject({ code: 'queue_full', message: expect.any(String), details: { scope, limit } });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('backpressure on POST /api/v1/generations', () => {
  const ids: string[] = [];

  it('when a caller has MAX_QUEUED_PER_KEY generations queued or running, then its next is 429 queue_full (scope key) with Retry-After and nothing is written', async () => {
    for (let n = 0; n < MAX_QUEUED_PER_KEY; n++) {
      const accepted = await post(n);
      expect(accepted.status).toBe(202);
      ids.push(accepted.body.id);
    }
    // A running one still counts against its key.
    await gateway.db.generationJob.update({ where: { id: ids[0] }, data: { status: 'running' } });
    expectQueueFull(await post(99), 'key', MAX_QUEUED_PER_KEY);
    expect(await gateway.db.generationJob.count()).toBe(MAX_QUEUED_PER_KEY);
  });

  it('when the queue holds MAX_QUEUE_DEPTH waiting generations, whoever made them, then the next is 429 queue_full (scope global) and /readyz reports it full while staying 200', async () => {
    await gateway.db.generationJob.update({ where: { id: ids[0] }, data: { status: 'queued' } });
    // As if another system had put these three on the generation-requests queue: not this caller's.
    await gateway.db.generationJob.updateMany({ where: { id: { in: ids.slice(0, 3) } }, data: { source: 'queue' } });
    const accepted = await post(5);
    expect(accepted.status).toBe(202);
    ids.push(accepted.body.id);
    expectQueueFull(await post(6), 'global', MAX_QUEUE_DEPTH);

    const ready = await api.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', service: 'gateway', queue: { depth: MAX_QUEUE_DEPTH, max: MAX_QUEUE_DEPTH, full: true } });
  });

  it('when a full queue has a failed generation, then its retry is 429 queue_full too', async () => {
    await gateway.db.generationJob.update({ where: { id: ids[1] }, data: { status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
    const extra = await post(7);
    expect(extra.status).toBe(202);
    expectQueueFull(await api.post(`/api/v1/generations/${ids[1]}/retry`), 'global', MAX_QUEUE_DEPTH);
    expect((await gateway.db.generationJob.findUniqueOrThrow({ where: { id: ids[1] } })).status).toBe('failed');
    // What could not be retried anyway keeps its own answer.
    expect((await api.post(`/api/v1/generations/${ids[2]}/retry`)).status).toBe(409);
    expect((await api.post('/api/v1/generations/00000000-0000-4000-8000-000000000000/retry')).status).toBe(404);
  });

  it('when a generation ends, then there is room again and /readyz says so', async () => {
    expect((await api.post(`/api/v1/generations/${ids[0]}/cancel`)).status).toBe(202);
    const ready = await api.get('/readyz');
    expect(ready.body.queue).toEqual({ depth: MAX_QUEUE_DEPTH - 1, max: MAX_QUEUE_DEPTH, full: false });
    expect((await post(8)).status).toBe(202);
  });
});
