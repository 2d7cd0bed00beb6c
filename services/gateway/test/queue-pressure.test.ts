import { kaiDefinition } from './fixtures';
import type { jsonClient, JsonResponse } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// No orchestrator runs here: every generation posted stays queued.
const MAX_QUEUED_PER_KEY = 4;
const MAX_QUEUE_DEPTH = 6;

let gateway: TestGateway;
let admin: ReturnType<typeof jsonClient>;
let alpha: ReturnType<typeof jsonClient>;
let beta: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('queue-pressure', { limits: { MAX_QUEUED_PER_KEY, MAX_QUEUE_DEPTH } });
  admin = gateway.client();
  alpha = gateway.client(await gateway.mintKey({ name: 'alpha', scopes: ['read', 'generate'] }));
  beta = gateway.client(await gateway.mintKey({ name: 'beta', scopes: ['read', 'generate'] }));
  expect((await admin.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

const post = (client: ReturnType<typeof jsonClient>, n: number) => client.post('/api/v1/generations', { character: 'kai', prompt: `frame ${n}` });

function expectQueueFull(response: JsonResponse, scope: 'key' | 'global', limit: number) {
  expect(response.status).toBe(429);
  expect(response.body.error).toMatchObject({ code: 'queue_full', message: expect.any(String), details: { scope, limit } });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('backpressure on POST /api/v1/generations', () => {
  const alphaIds: string[] = [];
  const betaIds: string[] = [];

  it('when a key has MAX_QUEUED_PER_KEY generations queued or running, then its next is 429 queue_full (scope key) with Retry-After, nothing is written, and another key still gets in', async () => {
    for (let n = 0; n < MAX_QUEUED_PER_KEY; n++) {
      const accepted = await post(alpha, n);
      expect(accepted.status).toBe(202);
      alphaIds.push(accepted.body.id);
    }
    // A running one still counts against its key.
    await gateway.db.generationJob.update({ where: { id: alphaIds[0] }, data: { status: 'running' } });
    expectQueueFull(await post(alpha, 99), 'key', MAX_QUEUED_PER_KEY);
    expect(await gateway.db.generationJob.count()).toBe(MAX_QUEUED_PER_KEY);
    const other = await post(beta, 0);
    expect(other.status).toBe(202);
    betaIds.push(other.body.id);
  });

  it('when the queue holds MAX_QUEUE_DEPTH waiting generations across keys, then the next is 429 queue_full (scope global) even for a key with room, and /readyz reports it full while staying 200', async () => {
    betaIds.push((await post(beta, 1)).body.id);
    expect((await post(admin, 0)).status).toBe(202);
    // alpha: 3 queued + 1 running; beta: 2 queued; admin: 1 queued.
    expect(await gateway.db.generationJob.count({ where: { status: 'queued' } })).toBe(MAX_QUEUE_DEPTH);
    expectQueueFull(await post(beta, 2), 'global', MAX_QUEUE_DEPTH);

    const ready = await admin.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', service: 'gateway', queue: { depth: MAX_QUEUE_DEPTH, max: MAX_QUEUE_DEPTH, full: true } });
  });

  it('when the queue is full, then retrying a failed generation is 429 queue_full too, and one that could not be retried anyway keeps its 409 or 404', async () => {
    await gateway.db.generationJob.update({ where: { id: alphaIds[0] }, data: { status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
    expectQueueFull(await alpha.post(`/api/v1/generations/${alphaIds[0]}/retry`), 'global', MAX_QUEUE_DEPTH);
    expect((await gateway.db.generationJob.findUniqueOrThrow({ where: { id: alphaIds[0] } })).status).toBe('failed');
    expect((await alpha.post(`/api/v1/generations/${alphaIds[1]}/retry`)).status).toBe(409);
    expect((await alpha.post('/api/v1/generations/00000000-0000-4000-8000-000000000000/retry')).status).toBe(404);
  });

  it('when a generation ends, then there is room again and /readyz says so', async () => {
    expect((await beta.post(`/api/v1/generations/${betaIds[0]}/cancel`)).status).toBe(202);
    const ready = await admin.get('/readyz');
    expect(ready.body.queue).toEqual({ depth: MAX_QUEUE_DEPTH - 1, max: MAX_QUEUE_DEPTH, full: false });
    expect((await alpha.post(`/api/v1/generations/${alphaIds[0]}/retry`)).status).toBe(202);
    expectQueueFull(await post(alpha, 100), 'global', MAX_QUEUE_DEPTH);
  });
});

describe('the key read with the queue counts (one statement on POST /api/v1/generations)', () => {
  it('when a key is revoked, then its very next POST /api/v1/generations is 401, however the path is spelled; before, it passed the key check and met the full queue', async () => {
    const client = gateway.client(await gateway.mintKey({ name: 'gamma', scopes: ['read', 'generate'] }));
    // The queue is still full from above: a key that passes gets queue_full, on each spelling of the route.
    for (const route of ['/api/v1/generations', '/api/v1/generations/']) {
      expectQueueFull(await client.post(route, { character: 'kai', prompt: 'gamma' }), 'global', MAX_QUEUE_DEPTH);
    }
    await gateway.db.apiKey.updateMany({ where: { name: 'gamma' }, data: { revokedAt: new Date() } });
    for (const route of ['/api/v1/generations', '/api/v1/generations/']) {
      const refused = await client.post(route, { character: 'kai', prompt: 'gamma' });
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('unauthenticated');
    }
  });
});
