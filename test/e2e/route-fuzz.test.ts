import fc from 'fast-check';
import { waitFor } from '@anime/testing';
import { fuzzRequest, type FuzzContext, type FuzzRequest } from './hostile/fuzz-requests';
import { mintKeyWithCli } from './hostile/mint-key-cli';
import { rssOf } from './hostile/process-memory';
import { startStackFixture, type StackFixture } from './stack-fixture';

// 10,000 fuzzed requests across every route of the real gateway (its own process), with and without
// keys: none may be a 5xx, and the gateway must give back the memory they cost.

const REQUESTS = 10_000;
const CONCURRENCY = 16;
const MiB = 1024 * 1024;
/** What the gateway's RSS may have grown by, once it had time to give the load's memory back. */
const RSS_GROWTH_BOUND_MIB = 150;
/**
 * How long the gateway gets, idle after the load, to give the memory back: V8's memory reducer does
 * it on its own schedule. Beside four other stacks' tests, the RSS held at 280 MiB for 20 s after the
 * load and fell to 167 MiB at 26 s; one clean-clone CI run still read +176 MiB at 30 s. What the
 * load leaves is garbage, not a leak: four rounds of 10,000 requests held at 280–362 MiB, then
 * 168 MiB after 30 s idle. The loop ends as soon as the bound holds.
 */
const RSS_SETTLE_MS = 120_000;
/**
 * The gateway's keep-alive idle timeout in this stack: longer than the whole test, so the gateway
 * closes no idle connection while the fuzz runs. With the default 5 s (the gateway closes an idle
 * connection after 6 s: Node adds 1 s), fetch (undici) drops one after 3 s (`Keep-Alive: timeout=5`
 * less its 2 s margin), by a timer: a client process stalled past that margin (a loaded machine; a
 * 7 s SIGSTOP of jest reproduces it) reuses a connection the gateway has just closed, and that
 * request, which never reached the gateway, fails with "SocketError: other side closed" (or EPIPE,
 * ECONNRESET). The race is HTTP/1.1 keep-alive's own, not what this test looks at; the gateway's idle
 * timeout is covered by its edge tests (services/gateway/test/slow-clients.test.ts).
 */
const KEEP_ALIVE_MS = 600_000;

jest.setTimeout(360_000);

describe('route fuzzing (issue #15)', () => {
  let fx: StackFixture;
  let context: FuzzContext;

  beforeAll(async () => {
    fx = await startStackFixture('route-fuzz', {
      simulatorStepMs: 1,
      // Limits high enough that requests reach the routes instead of stopping at the limiter.
      extraEnv: { HTTP_KEEPALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS), RATE_LIMIT_RPS: '100000', RATE_LIMIT_COST_PER_MIN: '1000000000000000', MAX_QUEUED_PER_KEY: '100000', MAX_QUEUE_DEPTH: '100000' },
    });
    const admin = await mintKeyWithCli(fx.databaseUrl, { name: 'fuzz-admin', scopes: 'admin' });
    const reader = await mintKeyWithCli(fx.databaseUrl, { name: 'fuzz-reader', scopes: 'read' });
    const limited = await mintKeyWithCli(fx.databaseUrl, { name: 'fuzz-limited', scopes: 'read,generate', projects: 'demo' });
    const auth = { authorization: `Bearer ${admin}` };
    const created = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'fuzz seed', width: 64, height: 64, steps: 1 }, { headers: auth });
    expect(created.status).toBe(202);
    const job = await waitFor(async () => {
      const res = await fx.api.get(`/api/v1/generations/${created.data.id}`, { headers: auth });
      return res.data.status === 'completed' ? res.data : null;
    }, 'the seed generation', 60_000, 100);
    const character = await fx.api.get('/api/v1/characters/kai-nakamura', { headers: auth });
    const backends = await fx.api.get('/api/v1/backends', { headers: auth });
    context = {
      known: { generationId: job.id, assetId: job.assets[0].id, referenceId: character.data.references[0].id, backendId: backends.data.items[0].id },
      keys: [admin, reader, limited],
    };
  });

  afterAll(async () => {
    await fx?.close();
  });

  /** Sends one request; returns its status and whether a refusal came in the error shape. */
  async function send(request: FuzzRequest): Promise<{ status: number; shaped: boolean }> {
    const response = await fetch(`${fx.stack.gatewayUrl}${request.path}`, { method: request.method, headers: request.headers, body: request.body as RequestInit['body'] });
    const text = await response.text();
    // Below 400 nothing is asked of the body; every refusal, Node's parser's own (431) included, is the error shape.
    if (response.status < 400) return { status: response.status, shaped: true };
    try {
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      return { status: response.status, shaped: typeof body.error?.code === 'string' && typeof body.error?.message === 'string' };
    } catch {
      return { status: response.status, shaped: false };
    }
  }

  it(`when ${REQUESTS} fuzzed requests hit every route with and without keys, then none is a 5xx, every refusal has the error shape, and the gateway's RSS ends within ${RSS_GROWTH_BOUND_MIB} MiB of where it began`, async () => {
    const requests = fc.sample(fuzzRequest(context), { numRuns: REQUESTS, seed: 15 });
    const pid = fx.stack.services.gateway!.pid!;
    const rssBefore = await rssOf(pid);
    const statuses = new Map<number, number>();
    const serverErrors: { request: string; status: number }[] = [];
    const unshaped: { request: string; status: number }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests.length) {
          const request = requests[next++];
          const { status, shaped } = await send(request);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500) serverErrors.push({ request: `${request.method} ${request.path.slice(0, 200)}`, status });
          if (!shaped) unshaped.push({ request: `${request.method} ${request.path.slice(0, 200)}`, status });
        }
      }),
    );
    const rssAtEnd = await rssOf(pid);
    // Given back: the bound must hold once the gateway has had a few idle seconds to collect (V8 and
    // malloc return freed pages lazily), not within the same instant the last answer went out.
    let rssAfter = rssAtEnd;
    for (const settleBy = Date.now() + RSS_SETTLE_MS; (rssAfter - rssBefore) / MiB >= RSS_GROWTH_BOUND_MIB && Date.now() < settleBy; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      rssAfter = await rssOf(pid);
    }
    const summary = { statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)), rssBeforeMiB: Math.round(rssBefore / MiB), rssAtEndMiB: Math.round(rssAtEnd / MiB), rssAfterMiB: Math.round(rssAfter / MiB) };
    console.log(`route fuzz: ${JSON.stringify(summary)}`);
    expect(serverErrors.slice(0, 20)).toEqual([]);
    // Every refusal is JSON { error: { code, message } }.
    expect(unshaped.slice(0, 20)).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(REQUESTS);
    // Deep enough to mean something: successes, refusals of each kind and not-founds all occurred.
    for (const status of [200, 400, 401, 403, 404]) expect({ status, seen: (statuses.get(status) ?? 0) > 0 }).toEqual({ status, seen: true });
    expect((rssAfter - rssBefore) / MiB).toBeLessThan(RSS_GROWTH_BOUND_MIB);
  });
});
