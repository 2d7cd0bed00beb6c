import { terminateBackends } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

const CLIENTS = 12;
const DURATION_MS = 4_000;
const TERMINATE_EVERY_MS = 25;

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
const generationIds: string[] = [];

beforeAll(async () => {
  // Twelve clients reading as fast as they can, from one address: a load on PostgreSQL, not a test of
  // the rate limit (rate-limits.test.ts), so the per-second limit is lifted out of its way.
  gateway = await startTestGateway('db-terminated', { limits: { RATE_LIMIT_RPS: 1_000_000 } });
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  for (let i = 0; i < 5; i++) {
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt: `shot ${i}` });
    expect(created.status).toBe(202);
    generationIds.push(created.body.id);
  }
});
afterAll(() => gateway?.close());

describe("reads while the project's PostgreSQL connections are terminated", () => {
  it('when backends are terminated over and over under concurrent GETs, then every answer is 200 or 503 database_unavailable, most are 200', async () => {
    const paths = [...generationIds.map((id) => `/api/v1/generations/${id}`), '/api/v1/generations', '/api/v1/characters', '/api/v1/characters/kai'];
    const statuses = new Map<string, number>();
    const unexpected: unknown[] = [];
    let terminated = 0;
    const until = Date.now() + DURATION_MS;

    const killer = (async () => {
      while (Date.now() < until) {
        terminated += await terminateBackends(gateway.database.name);
        await new Promise((r) => setTimeout(r, TERMINATE_EVERY_MS));
      }
    })();
    const client = async (n: number) => {
      for (let i = n; Date.now() < until; i++) {
        const response = await api.get(paths[i % paths.length]);
        const key = `${response.status}${response.status === 200 ? '' : ` ${response.body?.error?.code}`}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        const retryAfter = response.headers.get('retry-after');
        if (response.status === 503 && (response.body?.error?.code !== 'database_unavailable' || !retryAfter)) unexpected.push(response.body);
        if (response.status !== 200 && response.status !== 503) unexpected.push(response.body);
      }
    };
    await Promise.all([killer, ...Array.from({ length: CLIENTS }, (_, n) => client(n))]);

    const ok = statuses.get('200') ?? 0;
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.log(`database-terminated: ${total} GETs, ${JSON.stringify(Object.fromEntries(statuses))}, ${terminated} backends terminated`);
    expect(unexpected).toEqual([]);
    expect(terminated).toBeGreaterThan(20);
    expect(ok / total).toBeGreaterThan(0.5);
  }, 30_000);

  it('when the terminations stop, then every read answers 200 again', async () => {
    for (const path of ['/api/v1/generations', `/api/v1/generations/${generationIds[0]}`, '/api/v1/characters', '/readyz']) {
      expect((await api.get(path)).status).toBe(200);
    }
  });
});
