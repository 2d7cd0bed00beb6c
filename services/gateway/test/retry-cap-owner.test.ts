import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A retried generation counts in its owner's share of the queue (the key that made it), under that
// key's lock; any key reaching the generation's project may retry it. No orchestrator runs: every
// generation accepted stays queued.
const MAX_QUEUED_PER_KEY = 2;
const limits = { MAX_QUEUED_PER_KEY, RATE_LIMIT_RPS: 1_000_000 };

let gw: TestGateway;
let alpha: ReturnType<TestGateway['client']>;
let beta: ReturnType<TestGateway['client']>;

beforeAll(async () => {
  gw = await startTestGateway('reviewnretryowner', { limits });
  alpha = gw.client(await gw.mintKey({ name: 'alpha', scopes: ['read', 'generate'] }));
  beta = gw.client(await gw.mintKey({ name: 'beta', scopes: ['read', 'generate'] }));
  expect((await gw.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  await gw?.close();
});

describe('retrying another key’s generation', () => {
  it('when a key at its cap retries a failed generation of a key with room, then it is retried (counted for its owner), not 429 for the caller’s full share', async () => {
    const own = await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'alpha' });
    expect(own.status).toBe(202);
    await gw.db.generationJob.update({ where: { id: own.body.id }, data: { status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
    for (let i = 0; i < MAX_QUEUED_PER_KEY; i++) expect((await beta.post('/api/v1/generations', { character: 'kai', prompt: `beta ${i}` })).status).toBe(202);
    expect((await beta.post('/api/v1/generations', { character: 'kai', prompt: 'beta over' })).status).toBe(429);

    const retried = await beta.post(`/api/v1/generations/${own.body.id}/retry`);
    expect(retried.status).toBe(202);
    expect((await gw.db.generationJob.findUniqueOrThrow({ where: { id: own.body.id } })).status).toBe('queued');
  }, 60_000);

  it('when a key with room retries a failed generation of a key at its cap, then it is 429 queue_full (the owner’s share), and the caller still has its own room', async () => {
    // alpha: 1 queued (the retried one) + 1 new = at its cap, plus a failed one.
    const first = (await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'alpha 2' })).body;
    expect((await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'alpha 3' })).status).toBe(429);
    await gw.db.generationJob.update({ where: { id: first.id }, data: { status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
    expect((await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'alpha 4' })).status).toBe(202);

    const gamma = gw.client(await gw.mintKey({ name: 'gamma', scopes: ['read', 'generate'] }));
    const refused = await gamma.post(`/api/v1/generations/${first.id}/retry`);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'queue_full', details: { scope: 'key' } });
    expect((await gw.db.generationJob.findUniqueOrThrow({ where: { id: first.id } })).status).toBe('failed');
    expect((await gamma.post('/api/v1/generations', { character: 'kai', prompt: 'gamma' })).status).toBe(202);
  }, 60_000);

  it('when a key at its cap retries one of its generations still queued, then it is 409 not_retryable (as with room), not 429 queue_full', async () => {
    const queued = await gw.db.generationJob.findFirstOrThrow({ where: { apiKeyId: (await gw.db.apiKey.findFirstOrThrow({ where: { name: 'alpha' } })).id, status: 'queued' } });
    expect((await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'alpha full' })).status).toBe(429);
    const response = await alpha.post(`/api/v1/generations/${queued.id}/retry`);
    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'not_retryable', details: { status: 'queued' } });
  }, 60_000);
});
