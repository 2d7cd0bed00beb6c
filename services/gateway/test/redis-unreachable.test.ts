import { startTcpProxy, TEST_REDIS_URL, waitFor, type TcpProxy } from '@anime/testing';
import { HANDOFF_WAIT_MS } from '../src/domain/bounded-handoff';
import { QUEUE_REDIS_WAIT_MS } from '../src/http/routes/queues';
import { kaiDefinition } from './fixtures';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let proxy: TcpProxy;
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  const redisUrl = new URL(TEST_REDIS_URL);
  proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  // The queues' and publishers' connection goes through the proxy; PostgreSQL stays up.
  gateway = await startTestGateway('redis-unreachable', { redisVia: (url) => proxy.urlFor(url) });
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  await proxy?.accept();
  await gateway?.close();
  await proxy?.close();
});

/** The request, timed. */
const timed = async <T>(request: Promise<T>) => {
  const t0 = Date.now();
  const response = await request;
  return { response, ms: Date.now() - t0 };
};
// The answer waits for Redis at most HANDOFF_WAIT_MS, plus the request's own work.
const ANSWER_WITHIN_MS = HANDOFF_WAIT_MS + 3_000;

describe('the queue routes while Redis is up', () => {
  it('when the queues are listed, then their one shared connection is pinged once (not once per queue)', async () => {
    const clients = await Promise.all(Object.values(gateway.queues.byKey).map((queue) => queue.getBackend().client));
    expect(new Set(clients).size).toBe(1);
    // BullMQ hands out a proxy of the connection (jest.spyOn would stub the prototype): a property of
    // its own counts the route's pings, and deleting it gives the connection its own ping back.
    const client = clients[0] as unknown as { ping: (...args: unknown[]) => Promise<unknown> };
    const ping = client.ping;
    let pings = 0;
    client.ping = (...args) => {
      pings += 1;
      return ping(...args);
    };
    try {
      expect((await api.get('/api/v1/queues')).status).toBe(200);
      expect(pings).toBe(1);
    } finally {
      delete (client as { ping?: unknown }).ping;
    }
  });
});

describe('the gateway while Redis is unreachable (PostgreSQL up)', () => {
  let created: string;
  let canceled: string;

  it('when a generation is posted, then it is answered 202 within the hand-off wait (not held until Redis is back), and the row is queued', async () => {
    const before = await api.post('/api/v1/generations', { character: 'kai', prompt: 'posted before the outage' });
    expect(before.status).toBe(202);
    canceled = before.body.id;

    await proxy.refuse();
    const { response, ms } = await timed(api.post('/api/v1/generations', { character: 'kai', prompt: 'posted while Redis is away' }));
    expect(response.status).toBe(202);
    expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
    created = response.body.id;
    expect(await gateway.db.generationJob.findUniqueOrThrow({ where: { id: created }, select: { status: true } })).toEqual({ status: 'queued' });
  }, 30_000);

  it('when a queued generation is canceled and then retried, then each is answered 202 within the hand-off wait', async () => {
    const cancel = await timed(api.post(`/api/v1/generations/${canceled}/cancel`));
    expect([cancel.response.status, cancel.response.body.status]).toEqual([202, 'canceled']);
    expect(cancel.ms).toBeLessThan(ANSWER_WITHIN_MS);
    const retry = await timed(api.post(`/api/v1/generations/${canceled}/retry`, {}));
    expect([retry.response.status, retry.response.body.status]).toEqual([202, 'queued']);
    expect(retry.ms).toBeLessThan(ANSWER_WITHIN_MS);
  }, 30_000);

  it('when the queues are listed, paused or resumed, then each is answered 503 not_ready with Retry-After within the wait (not held until Redis is back)', async () => {
    for (const request of [() => api.get('/api/v1/queues'), () => api.post('/api/v1/queues/generation-renders/pause'), () => api.post('/api/v1/queues/generation-renders/resume')]) {
      const { response, ms } = await timed(request());
      expect([response.status, response.body.error.code, response.headers.get('retry-after')]).toEqual([503, 'not_ready', '5']);
      expect(ms).toBeLessThan(QUEUE_REDIS_WAIT_MS + 3_000);
    }
  }, 30_000);

  it('when Redis is back, then the hand-offs held meanwhile reach the render queue', async () => {
    await proxy.accept();
    const renders = gateway.queues.byKey.generationRenders;
    for (const id of [created, canceled]) {
      await waitFor(async () => ((await renders.getJobState(`render-${id}`)) !== 'unknown' ? true : null), `the render job of ${id}`, 15_000);
    }
    // The pause refused while Redis was away was not held to take effect now.
    expect(await renders.isPaused()).toBe(false);
    expect((await api.get('/api/v1/queues')).status).toBe(200);
  }, 30_000);

  it('when Redis is silent (a partition), then the queues are answered 503 once the wait is over, and the gateway goes on', async () => {
    proxy.blackHole();
    try {
      const { response, ms } = await timed(api.get('/api/v1/queues'));
      expect([response.status, response.body.error.code, response.headers.get('retry-after')]).toEqual([503, 'not_ready', '5']);
      expect(ms).toBeLessThan(QUEUE_REDIS_WAIT_MS + 3_000);
      // A pause refused meanwhile is not held to take effect once Redis answers again.
      const pause = await timed(api.post('/api/v1/queues/generation-renders/pause'));
      expect([pause.response.status, pause.response.body.error.code]).toEqual([503, 'not_ready']);
      expect(pause.ms).toBeLessThan(QUEUE_REDIS_WAIT_MS + 3_000);
      // Each queue's wait ended with the one answer (none fires after it was sent).
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      proxy.heal();
    }
    expect((await api.get('/api/v1/queues')).status).toBe(200);
    expect(await gateway.queues.byKey.generationRenders.isPaused()).toBe(false);
  }, 30_000);
});
