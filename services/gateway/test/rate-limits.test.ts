import { request } from 'node:http';
import { LARGEST_GENERATION_COST } from '@anime/config';
import { waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import type { jsonClient, JsonResponse } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

// The defaults: RATE_LIMIT_RPS 20, RATE_LIMIT_BURST 40 per 10 s, RATE_LIMIT_COST_PER_MIN = one 16 × 2048² × 150-step request.
beforeAll(async () => {
  gateway = await startTestGateway('rate-limits', { limits: {} });
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function expectRateLimitHeaders(response: JsonResponse, policy: string) {
  expect(response.headers.get('ratelimit-policy')).toMatch(new RegExp(`"${policy}";q=\\d+;w=\\d+`));
  expect(response.headers.get('ratelimit')).toMatch(new RegExp(`"${policy}";r=\\d+;t=\\d+`));
  for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) expect(response.headers.get(name)).toMatch(/^\d+$/);
  expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
}

function expectRefused(response: JsonResponse, code: 'rate_limited' | 'queue_full') {
  expect(response.status).toBe(429);
  expect(response.body).toEqual({ error: { code, message: expect.any(String), details: expect.anything() } });
  const retryAfter = response.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  return Number(retryAfter);
}

describe('requests per second', () => {
  it('when a key sends a burst over RATE_LIMIT_RPS + burst, then the excess gets 429 rate_limited with Retry-After and RateLimit headers, and it is served again after Retry-After', async () => {
    await pause(1_100); // a fresh one-second window for this caller
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 120 }, () => api.get('/api/v1/schemas/generation-request')));
    const elapsed = Date.now() - started;
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    console.log(`rate-limits: a burst of 120 GETs in ${elapsed} ms → ${ok.length} × 200, ${refused.length} × 429`);
    expect(ok.length + refused.length).toBe(120);
    // 20 a second plus 40 of burst; each one-second window the burst reaches into adds its 20.
    expect(ok.length).toBeGreaterThanOrEqual(60);
    expect(ok.length).toBeLessThanOrEqual(40 + 20 * (Math.ceil(elapsed / 1000) + 1));
    expect(refused.length).toBeGreaterThan(0);
    for (const response of ok) expectRateLimitHeaders(response, 'requests');
    let wait = 0;
    for (const response of refused) {
      wait = Math.max(wait, expectRefused(response, 'rate_limited'));
      expectRateLimitHeaders(response, 'requests');
      expect(response.headers.get('ratelimit-remaining')).toBe('0');
    }
    expect(wait).toBeLessThanOrEqual(1);

    await pause(wait * 1000);
    const again = await api.get('/api/v1/schemas/generation-request');
    expect(again.status).toBe(200);
    expect(again.headers.get('ratelimit-limit')).toBe('20');
    expectRateLimitHeaders(again, 'requests');
  });

  // Bursts until one is refused: how many that takes depends on how the burst falls across one-second windows.
  const exhaust = async (client: ReturnType<typeof jsonClient>) => {
    for (let round = 0; round < 20; round++) {
      const statuses = (await Promise.all(Array.from({ length: 40 }, () => client.get('/api/v1/schemas/generation-request')))).map((r) => r.status);
      if (statuses.includes(429)) return true;
    }
    return false;
  };

  it('when one key is limited, then another key from the same address is served', async () => {
    expect(await exhaust(api)).toBe(true);
    const other = gateway.client(await gateway.mintKey({ scopes: ['read'] }));
    expect((await other.get('/api/v1/schemas/generation-request')).status).toBe(200);
  });

  it('when /healthz or /readyz are polled, then they are not rate limited', async () => {
    expect(await exhaust(api)).toBe(true);
    const probes = await Promise.all(Array.from({ length: 30 }, (_, i) => api.get(i % 2 ? '/healthz' : '/readyz')));
    expect(probes.map((r) => r.status)).toEqual(probes.map(() => 200));
  });
});

describe('generation cost per minute', () => {
  const costly = { character: 'kai', prompt: 'a crowd', scene: 'crowd', count: 16, width: 1024, height: 1024, steps: 150 };
  const cheap = { character: 'kai', prompt: 'a sketch', count: 1, width: 256, height: 256, steps: 10 };

  const generator = async () => gateway.client(await gateway.mintKey({ scopes: ['read', 'generate'] }));

  it('when a few costly generations spend the minute budget, then the next is 429 rate_limited naming cost and budget, while a cheap one from another key passes', async () => {
    const other = await generator();
    const each = 16 * 1024 * 1024 * 150;
    const fits = Math.floor(LARGEST_GENERATION_COST / each);
    expect(fits).toBe(4);
    for (let i = 0; i < fits; i++) {
      const accepted = await other.post('/api/v1/generations', costly);
      expect(accepted.status).toBe(202);
      expect(accepted.headers.get('ratelimit-policy')).toBe(`"requests";q=20;w=1, "cost";q=${LARGEST_GENERATION_COST};w=60`);
      expect(accepted.headers.get('ratelimit')).toMatch(new RegExp(`"cost";r=${LARGEST_GENERATION_COST - (i + 1) * each};t=\\d+$`));
    }
    const refused = await other.post('/api/v1/generations', costly);
    const retryAfter = expectRefused(refused, 'rate_limited');
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body.error.details).toMatchObject({ cost: each, limit: LARGEST_GENERATION_COST, remaining: 0 });
    expect(refused.headers.get('ratelimit-limit')).toBe(String(LARGEST_GENERATION_COST));
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(await gateway.db.generationJob.count({ where: { scene: 'crowd' } })).toBe(fits);
    // The same key cannot slip a cheap one in either; another key can.
    expect((await other.post('/api/v1/generations', cheap)).status).toBe(429);
    const elsewhere = await (await generator()).post('/api/v1/generations', cheap);
    expect(elsewhere.status).toBe(202);
  });

  it('when the costliest request the API accepts is sent twice, then the first is accepted and the second waits for the next minute', async () => {
    const caller = await generator();
    const largest = { character: 'kai', prompt: 'the largest', count: 16, width: 2048, height: 2048, steps: 150 };
    expect((await caller.post('/api/v1/generations', largest)).status).toBe(202);
    expectRefused(await caller.post('/api/v1/generations', largest), 'rate_limited');
  });

  it('when a generation is refused after its cost was counted (unknown character), then the cost is given back', async () => {
    const caller = await generator();
    const largest = { character: 'nobody', prompt: 'x', count: 16, width: 2048, height: 2048, steps: 150 };
    expect((await caller.post('/api/v1/generations', largest)).status).toBe(404);
    expect((await caller.post('/api/v1/generations', { ...largest, character: 'kai' })).status).toBe(202);
  });

  it('when the budget is spent and the request also names an unknown character, then it is still 429 rate_limited (the charge answers before the resolution, which runs alongside), and nothing is written', async () => {
    const caller = await generator();
    const largest = { character: 'kai', prompt: 'spend it', scene: 'spent', count: 16, width: 2048, height: 2048, steps: 150 };
    expect((await caller.post('/api/v1/generations', largest)).status).toBe(202);
    expectRefused(await caller.post('/api/v1/generations', { ...largest, character: 'nobody' }), 'rate_limited');
    expect(await gateway.db.generationJob.count({ where: { scene: 'spent' } })).toBe(1);
  });
});

describe('request bodies arriving at once', () => {
  const MAX_BODIES = 4;
  const MiB = 1024 * 1024;
  let bodies: TestGateway;
  beforeAll(async () => {
    bodies = await startTestGateway('bodies-in-flight', { limits: { REQUEST_BODIES_PER_KEY: MAX_BODIES } });
    expect((await bodies.client().post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  });
  afterAll(() => bodies?.close());

  /** A reference upload that sends 2 MiB of its 20 and then waits, as a client holding the gateway's memory would. */
  function stalledUpload(token: string) {
    const url = new URL(bodies.baseUrl);
    const answer: { status?: number; body?: any; retryAfter?: string } = {};
    const req = request({
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path: '/api/v1/characters/kai/references',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=X', 'content-length': String(20 * MiB) },
    });
    req.on('error', () => undefined);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => Object.assign(answer, { status: res.statusCode, body: JSON.parse(text), retryAfter: res.headers['retry-after'] }));
    });
    req.write('--X\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n');
    req.write(Buffer.alloc(2 * MiB, 7));
    return { answer, close: () => req.destroy() };
  }

  it(`when one key keeps more than REQUEST_BODIES_PER_KEY (${MAX_BODIES}) bodies arriving, then the rest are 429 rate_limited at once; small bodies, other keys and freed places are served`, async () => {
    // Once: each stalled upload held its bytes until the 5-minute upload deadline; 30 held 570 MB.
    const uploads = Array.from({ length: 10 }, () => stalledUpload(bodies.apiKey));
    try {
      await waitFor(() => uploads.filter((u) => u.answer.status).length === 10 - MAX_BODIES, '429 for the bodies past the limit');
      const refused = uploads.filter((u) => u.answer.status);
      for (const { answer } of refused) {
        expect(answer.status).toBe(429);
        expect(answer.body.error).toEqual({ code: 'rate_limited', message: expect.stringContaining(`at most ${MAX_BODIES} request bodies`), details: expect.objectContaining({ reason: 'bodies_in_flight', limit: MAX_BODIES }) });
        expect(answer.retryAfter).toBe('1');
      }

      // A whole body (any small one) is not held waiting: the key's JSON requests go on.
      const api = bodies.client();
      const versions = await Promise.all(Array.from({ length: 10 }, (_, i) => api.post('/api/v1/characters/kai/versions', { definition: { ...kaiDefinition, description: `take ${i}` } })));
      expect(versions.map((v) => v.status)).toEqual(Array(10).fill(201));
      // Another key has places of its own.
      const other = stalledUpload(await bodies.mintKey({ scopes: ['characters:write'] }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(other.answer.status).toBeUndefined();
      other.close();

      // A held upload that goes away frees its place.
      for (const upload of uploads) upload.close();
      const again = stalledUpload(bodies.apiKey);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(again.answer.status).toBeUndefined();
      again.close();
    } finally {
      for (const upload of uploads) upload.close();
    }
  });
});
