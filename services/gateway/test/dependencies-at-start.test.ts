import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gatewayConfigSchema, loadConfig } from '@anime/config';
import { createLogger } from '@anime/logger';
import { freePort } from '@anime/stack';
import { createTestDatabase, refusedRedisUrls, removeQueueKeys, startTcpProxy, TEST_POSTGRES, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TcpProxy, type TestDatabase } from '@anime/testing';
import { startGateway, type RunningGateway } from '../src/start';

// The gateway's own start (start.ts, as main.ts runs it) while PostgreSQL or Redis does not answer
// yet: PORT is listened on at once, alive on /healthz, 503 on /readyz naming the dependency waited
// for, every other request 503 with Retry-After; once the dependency answers, the gateway serves.

const log = createLogger('gateway', 'error');

/** The answer, or null when nothing listens. */
const get = (port: number, route: string) => fetch(`http://127.0.0.1:${port}${route}`).catch(() => null);

let database: TestDatabase;
let libraryDir: string;
const queuePrefix = uniqueQueuePrefix('gw-deps-at-start');

beforeAll(async () => {
  database = await createTestDatabase('gw-deps-at-start');
  libraryDir = await mkdtemp(path.join(tmpdir(), 'gateway-deps-at-start-'));
});
afterAll(async () => {
  await database?.drop();
  await removeQueueKeys(queuePrefix);
  await rm(libraryDir, { recursive: true, force: true });
});

const configFor = (urls: { DATABASE_URL?: string; REDIS_URL?: string }, port: number) =>
  loadConfig(gatewayConfigSchema, { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, PORT: String(port), ...urls });

/** Starts the gateway without waiting for it: the start's outcome is recorded when it comes. */
function startInBackground(urls: { DATABASE_URL?: string; REDIS_URL?: string }, port: number) {
  const outcome: { running?: RunningGateway; error?: unknown } = {};
  const starting = startGateway(configFor(urls, port), log, '127.0.0.1').then(
    (running) => void (outcome.running = running),
    (error) => void (outcome.error = error),
  );
  return { outcome, starting };
}

describe.each([
  { dependency: 'redis', code: 'not_ready', target: () => ({ host: new URL(TEST_REDIS_URL).hostname, port: Number(new URL(TEST_REDIS_URL).port || 6379) }), variable: 'REDIS_URL' as const, url: () => TEST_REDIS_URL },
  { dependency: 'database', code: 'database_unavailable', target: () => TEST_POSTGRES, variable: 'DATABASE_URL' as const, url: () => database.url },
])('the gateway started while $dependency does not answer yet', ({ dependency, code, target, variable, url }) => {
  let proxy: TcpProxy;
  let started: ReturnType<typeof startInBackground> | undefined;

  beforeAll(async () => {
    proxy = await startTcpProxy(target());
  });
  afterAll(async () => {
    await proxy.accept();
    await started?.starting;
    await started?.outcome.running?.stop();
    await proxy.close();
  });

  it('then PORT answers at once: /healthz 200, /readyz 503 naming it, any other request 503 with Retry-After; once it answers, the gateway serves', async () => {
    await proxy.refuse();
    const port = await freePort();
    started = startInBackground({ [variable]: proxy.urlFor(url()) }, port);
    await waitFor(async () => (await get(port, '/healthz'))?.status === 200, '/healthz while the start waits', 10_000);
    // Several refused tries later, the start is still waiting, not given up.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(started.outcome).toEqual({});

    const ready = (await get(port, '/readyz'))!;
    expect([ready.status, await ready.json()]).toEqual([503, { status: 'not_ready', service: 'gateway', failing: [dependency], error: { code, message: `gateway is starting: waiting for ${dependency}` } }]);
    for (const [method, route] of [
      ['GET', '/api/v1/characters'],
      ['POST', '/api/v1/generations'],
      ['GET', '/socket.io/?EIO=4&transport=polling'],
    ]) {
      const answer = await fetch(`http://127.0.0.1:${port}${route}`, { method, signal: AbortSignal.timeout(3_000) });
      expect({ route, status: answer.status, retryAfter: answer.headers.get('retry-after'), body: await answer.json() }).toEqual({
        route,
        status: 503,
        retryAfter: '5',
        body: { error: { code, message: `gateway is starting: waiting for ${dependency}` } },
      });
    }

    await proxy.accept();
    await started.starting;
    expect(started.outcome.error).toBeUndefined();
    expect(started.outcome.running?.port).toBe(port);
    expect((await get(port, '/readyz'))?.status).toBe(200);
    // The API itself now: a request without a key is refused by it, not by the start's 503.
    expect((await get(port, '/api/v1/characters'))?.status).toBe(401);
  }, 30_000);
});

describe('the gateway started on a login or database that is refused', () => {
  it('when PostgreSQL has no such database, then the start fails rather than waiting, and PORT is let go', async () => {
    const missing = new URL(database.url);
    missing.pathname = `/${database.name}_missing`;
    const port = await freePort();
    await expect(startGateway(configFor({ DATABASE_URL: missing.toString() }, port), log, '127.0.0.1')).rejects.toThrow();
    expect(await get(port, '/healthz')).toBeNull();
  }, 30_000);

  it('when Redis refuses the login, then the start fails naming REDIS_URL, and PORT is let go', async () => {
    const port = await freePort();
    await expect(startGateway(configFor({ REDIS_URL: refusedRedisUrls().wrongLogin }, port), log, '127.0.0.1')).rejects.toThrow(/^REDIS_URL: Redis refused the connection \(WRONGPASS/);
    expect(await get(port, '/healthz')).toBeNull();
  }, 30_000);
});
