import { kaiDefinition } from './fixtures';
import type { jsonClient, JsonResponse } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// Two gateway replicas on one database, Redis and QUEUE_PREFIX, as behind a load balancer. No
// orchestrator runs: every generation accepted stays queued, so it counts against its key.
const MAX_QUEUED_PER_KEY = 5;
const CONCURRENT = 30;
// The request rate limit is lifted: only the queue cap may refuse here.
const limits = { MAX_QUEUED_PER_KEY, RATE_LIMIT_RPS: 1_000_000 };

let a: TestGateway;
let b: TestGateway;
let token: string;
let alphaId: string;
let clients: ReturnType<typeof jsonClient>[];

beforeAll(async () => {
  a = await startTestGateway('cape-queue-cap-replicas', { limits });
  b = await startTestGateway('cape-queue-cap-replicas-b', { limits, database: a.database, queuePrefix: a.queuePrefix });
  token = await a.mintKey({ name: 'alpha', scopes: ['read', 'generate'] });
  alphaId = (await a.db.apiKey.findFirstOrThrow({ where: { name: 'alpha' } })).id;
  clients = [a.client(token), b.client(token)];
  expect((await a.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

/** Each of `n` requests to one replica or the other in turn, all at once. */
const atOnce = (n: number, send: (client: ReturnType<typeof jsonClient>, i: number) => Promise<JsonResponse>) => Promise.all(Array.from({ length: n }, (_, i) => send(clients[i % 2], i)));
const post = (client: ReturnType<typeof jsonClient>, i: number) => client.post('/api/v1/generations', { character: 'kai', prompt: `race ${i}` });

function expectKeyQueueFull(response: JsonResponse) {
  expect(response.status).toBe(429);
  expect(response.body.error).toMatchObject({ code: 'queue_full', details: { scope: 'key', limit: MAX_QUEUED_PER_KEY } });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

/** The key's generations not yet terminal, and that each has exactly its one job:queued event (nothing half-written). */
async function activeOfAlpha(): Promise<string[]> {
  const jobs = await a.db.generationJob.findMany({ where: { apiKeyId: alphaId, status: { in: ['queued', 'running'] } }, select: { id: true } });
  return jobs.map((j) => j.id).sort();
}

describe('MAX_QUEUED_PER_KEY across two gateway replicas and concurrent requests', () => {
  it(`when one key sends ${CONCURRENT} generations at once through two gateways with a cap of ${MAX_QUEUED_PER_KEY}, then exactly ${MAX_QUEUED_PER_KEY} are accepted, the rest are 429 queue_full (scope key, Retry-After), and only the accepted were written`, async () => {
    const responses = await atOnce(CONCURRENT, post);
    const accepted = responses.filter((r) => r.status === 202);
    const refused = responses.filter((r) => r.status !== 202);
    expect({ accepted: accepted.length, refused: refused.length }).toEqual({ accepted: MAX_QUEUED_PER_KEY, refused: CONCURRENT - MAX_QUEUED_PER_KEY });
    for (const r of refused) expectKeyQueueFull(r);
    // The rows are exactly the 202s: no refused one was written, no accepted one lost, each with its one event.
    expect(await activeOfAlpha()).toEqual(accepted.map((r) => r.body.id).sort());
    expect(await a.db.generationJob.count()).toBe(MAX_QUEUED_PER_KEY);
    const events = await a.db.jobEvent.findMany({ select: { jobId: true, type: true } });
    expect(events.map((e) => `${e.jobId}:${e.type}`).sort()).toEqual(accepted.map((r) => `${r.body.id}:job:queued`).sort());
  }, 60_000);

  it('when failed generations are retried while new ones race them for the same room, then the key still ends with exactly the cap queued, and each refused retry stays failed', async () => {
    const held = await activeOfAlpha();
    const failed = held.slice(0, 3);
    await a.db.generationJob.updateMany({ where: { id: { in: failed } }, data: { status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
    // Room for 3 again; 3 retries and 12 new generations go for it at once.
    const responses = await atOnce(failed.length + 12, (client, i) => (i < failed.length ? client.post(`/api/v1/generations/${failed[i]}/retry`) : post(client, 100 + i)));
    const accepted = responses.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(failed.length);
    for (const r of responses.filter((x) => x.status !== 202)) expectKeyQueueFull(r);
    expect(await activeOfAlpha()).toHaveLength(MAX_QUEUED_PER_KEY);
    const stillFailed = await a.db.generationJob.count({ where: { id: { in: failed }, status: 'failed' } });
    const retried = responses.slice(0, failed.length).filter((r) => r.status === 202).length;
    expect(stillFailed).toBe(failed.length - retried);
    const newOnes = accepted.length - retried;
    expect(await a.db.generationJob.count()).toBe(MAX_QUEUED_PER_KEY + newOnes);
  }, 60_000);

  it('when another key sends at once too, then it has its own room: its cap is not taken by the full key', async () => {
    const beta = await a.mintKey({ name: 'beta', scopes: ['read', 'generate'] });
    const betaClients = [a.client(beta), b.client(beta)];
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => post(betaClients[i % 2], 200 + i)));
    expect(responses.filter((r) => r.status === 202)).toHaveLength(MAX_QUEUED_PER_KEY);
    expect(await activeOfAlpha()).toHaveLength(MAX_QUEUED_PER_KEY);
  }, 60_000);
});
