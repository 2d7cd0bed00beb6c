import { waitFor } from '@anime/testing';
import { startGatewayBehindDatabaseProxy, type GatewayBehindDatabaseProxy } from './gateway-behind-database-proxy';
import type { JsonResponse } from './http-client';

// Far beyond the bound a request is held for (the query timeout, 10 s): past it, the request hung.
const NO_ANSWER_MS = 40_000;

let fixture: GatewayBehindDatabaseProxy;

/** The answer, or a failure naming the request when none came within NO_ANSWER_MS; logs how long it took. */
async function answered(what: string, request: Promise<JsonResponse>): Promise<JsonResponse> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${NO_ANSWER_MS} ms`)), NO_ANSWER_MS);
  });
  try {
    const response = await Promise.race([request, hung]);
    console.log(`database-partitioned: ${what} answered ${response.status} after ${Date.now() - started} ms`);
    return response;
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  fixture = await startGatewayBehindDatabaseProxy('db-partitioned');
});
afterAll(() => fixture?.close());

const expectDatabaseUnavailable = (response: JsonResponse) => {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('5');
  expect(response.body).toEqual({ error: { code: 'database_unavailable', message: expect.any(String) } });
};

describe('the gateway while PostgreSQL stops answering without closing its connections (a partition, a frozen host)', () => {
  it('when requests meet the silent database, then each is answered 503 database_unavailable with Retry-After, not held, and so are the ones after them', async () => {
    const { api, proxy, socket, generationId } = fixture;
    // Pooled connections that were in use a moment ago: the partition finds them open.
    expect((await api.get(`/api/v1/generations/${generationId}`)).status).toBe(200);
    proxy.blackHole();
    // Side by side, as clients would come: each one is bounded, not queued behind the others.
    const [one, list, character, write, ready, subscribed] = await Promise.all([
      answered('GET /api/v1/generations/:id', api.get(`/api/v1/generations/${generationId}`)),
      answered('GET /api/v1/generations', api.get('/api/v1/generations')),
      answered('GET /api/v1/characters/kai', api.get('/api/v1/characters/kai')),
      // A write is answered as well (and not retried: it may have reached the server).
      answered('POST /api/v1/generations', api.post('/api/v1/generations', { character: 'kai', prompt: 'during the partition' })),
      answered('GET /readyz', api.get('/readyz')),
      socket.timeout(NO_ANSWER_MS).emitWithAck('subscribe', { jobId: generationId }),
    ]);
    for (const response of [one, list, character, write]) expectDatabaseUnavailable(response);
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('database_unavailable');
    expect(subscribed).toEqual({ ok: false, error: { code: 'database_unavailable', message: expect.any(String) } });
    // Later requests too: timed-out connections did not stay in the pool to hold the next ones.
    expectDatabaseUnavailable(await answered('GET /api/v1/generations/:id again', api.get(`/api/v1/generations/${generationId}`)));
  }, 3 * NO_ANSWER_MS);

  it('when the partition heals, then reads, writes and /readyz answer again without a restart', async () => {
    const { api, proxy, socket, generationId } = fixture;
    proxy.heal();
    await waitFor(async () => (await api.get('/readyz')).status === 200, '/readyz to answer 200', 20_000);
    expect((await api.get(`/api/v1/generations/${generationId}`)).status).toBe(200);
    expect((await api.get('/api/v1/characters/kai')).status).toBe(200);
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt: 'after the partition' });
    expect(created.status).toBe(202);
    expect((await api.get(`/api/v1/generations/${created.body.id}`)).body.status).toBe('queued');
    expect(await socket.timeout(10_000).emitWithAck('subscribe', { jobId: generationId })).toEqual({ ok: true, status: 'queued' });
  }, 60_000);
});
