import { Redis } from 'ioredis';
import { startTcpProxy, TEST_REDIS_URL, waitFor, type TcpProxy } from '@anime/testing';
import { clientFromAddress } from './client-from-address';
import { kaiDefinition } from './fixtures';
import { jsonClient, type JsonResponse } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let proxy: TcpProxy;
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  const redisUrl = new URL(TEST_REDIS_URL);
  proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  // AUTH_MODE=off: no keys, so every limit counts per client IP (and the local caller's queue share).
  gateway = await startTestGateway('limits-resilience', {
    authMode: 'off',
    // Low request limits, so a burst is refused however a loaded machine spreads it across seconds.
    limits: { RATE_LIMIT_RPS: 10, RATE_LIMIT_BURST: 10, MAX_QUEUE_DEPTH: 12, MAX_QUEUED_PER_KEY: 5 },
    limiterRedisVia: (url) => proxy.urlFor(url),
  });
  api = jsonClient(gateway.baseUrl);
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  await proxy?.accept();
  await gateway?.close();
  await proxy?.close();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tally = (responses: JsonResponse[]) => {
  const counts: Record<string, number> = {};
  for (const r of responses) {
    const key = `${r.status}${r.body?.error ? ` ${r.body.error.code}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

describe('rate limits and queue caps together, without keys', () => {
  it('when one client IP is limited, then another IP is served', async () => {
    const limited = clientFromAddress(gateway.baseUrl, '127.0.0.20');
    // Bursts until one is refused: how many that takes depends on how the burst falls across one-second windows.
    let refused = false;
    for (let round = 0; round < 20 && !refused; round++) {
      const statuses = (await Promise.all(Array.from({ length: 40 }, () => limited.get('/api/v1/schemas/generation-request')))).map((r) => r.status);
      refused = statuses.includes(429);
    }
    expect(refused).toBe(true);
    expect((await clientFromAddress(gateway.baseUrl, '127.0.0.21').get('/api/v1/schemas/generation-request')).status).toBe(200);
  });

  it('when three clients storm reads, cheap and costly generations at once, then every answer is 200, 202 or 429 (rate_limited or queue_full), never a 5xx', async () => {
    const clients = ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((address) => clientFromAddress(gateway.baseUrl, address));
    const largest = { character: 'kai', prompt: 'storm large', count: 16, width: 2048, height: 2048, steps: 150 };
    const cheap = { character: 'kai', prompt: 'storm small' };
    const storm = (readsToo: boolean) =>
      Promise.all(
        Array.from({ length: 240 }, (_, i) => {
          const client = clients[i % 3];
          if (i % 4 === 0) return client.post('/api/v1/generations', largest);
          if (i % 4 === 1 || !readsToo) return client.post('/api/v1/generations', cheap);
          return client.get(i % 8 === 2 ? '/api/v1/generations?limit=5' : '/api/v1/characters');
        }),
      );
    // Both limits meet here. A POST reads its queue's room before the rate limit counts it, so on a
    // loaded machine the storm's GETs can spend a window's requests first: then storms of
    // generations alone follow, a window apart, until the queue caps refuse too (the queued jobs
    // stay: nothing renders them).
    const responses: JsonResponse[] = [];
    for (let round = 0; round < 5 && !responses.some((r) => r.body?.error?.code === 'queue_full'); round++) {
      if (round > 0) await pause(1_100);
      responses.push(...(await storm(round === 0)));
    }
    const counts = tally(responses);
    console.log(`limits-resilience: ${responses.length} mixed requests from 3 IPs → ${JSON.stringify(counts)}`);
    expect(responses.filter((r) => ![200, 202, 429].includes(r.status)).map((r) => [r.status, r.body])).toEqual([]);
    expect(counts['429 queue_full']).toBeGreaterThan(0);
    expect(counts['429 rate_limited']).toBeGreaterThan(0);
    expect(responses.filter((r) => r.status === 429).every((r) => ['rate_limited', 'queue_full'].includes(r.body.error.code))).toBe(true);
    expect(await gateway.db.generationJob.count({ where: { status: 'queued' } })).toBeLessThanOrEqual(12 + 3 * 5);
  });

  it("then the limiters' Redis keys sit under the gateway's QUEUE_PREFIX and expire by themselves", async () => {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      // A request of its own first: the earlier tests' one-second windows may all have expired by now.
      expect((await clientFromAddress(gateway.baseUrl, '127.0.0.30').get('/api/v1/schemas/generation-request')).status).toBe(200);
      const keys = await redis.keys(`${gateway.queuePrefix}:rate-limit:*`);
      expect(keys.length).toBeGreaterThan(0);
      let timed = 0;
      for (const key of keys) {
        const ttl = await redis.pttl(key);
        // -2: gone since KEYS listed it, and 0: less than a millisecond left, a one-second window
        // expiring meanwhile (expiring by itself is the point); a key that never expires answers -1.
        if (ttl === -2) continue;
        expect(ttl).toBeGreaterThanOrEqual(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
        timed++;
      }
      expect(timed).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('when Redis is out of reach of the limiters, then requests are still answered at once (200, or 429 by the per-process fallback limits), never a 5xx', async () => {
    await pause(1_100);
    await proxy.refuse();
    const started = Date.now();
    const one = await api.get('/api/v1/characters');
    expect(one.status).toBe(200);
    // Not held waiting on Redis (the pipeline's connections would queue the command until it is back).
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(one.headers.get('ratelimit-limit')).toBe('10');
    const burst = await Promise.all(Array.from({ length: 100 }, () => api.get('/api/v1/characters')));
    const counts = tally(burst);
    console.log(`limits-resilience: with the limiters' Redis refused, 100 GETs → ${JSON.stringify(counts)} in ${Date.now() - started} ms`);
    expect(Object.keys(counts).sort()).toEqual(['200', '429 rate_limited']);
    expect(Date.now() - started).toBeLessThan(15_000);
    await pause(1_100);
    const generation = await clientFromAddress(gateway.baseUrl, '127.0.0.9').post('/api/v1/generations', { character: 'kai', prompt: 'during the Redis outage', project: 'outage' });
    expect([202, 429]).toContain(generation.status);
  });

  it('when Redis is back, then the limits are kept in Redis again', async () => {
    await proxy.accept();
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await waitFor(async () => {
        const res = await clientFromAddress(gateway.baseUrl, '127.0.0.10').get('/api/v1/characters');
        return res.status === 200 && (await redis.exists(`${gateway.queuePrefix}:rate-limit:requests:ip:127.0.0.10`)) === 1;
      }, 'a request counted in Redis', 10_000, 200);
    } finally {
      redis.disconnect();
    }
  });
});
