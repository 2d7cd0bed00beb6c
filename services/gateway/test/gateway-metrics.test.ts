import { randomUUID } from 'node:crypto';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gw: TestGateway;

beforeAll(async () => {
  // A tight request rate (2 a second, no burst): 100 requests at once pass it even on a loaded machine,
  // where the defaults (20/s + 40 per 10 s) let 100 requests spread over ~3 s through unrefused.
  gw = await startTestGateway('gateway-metrics', { limits: { RATE_LIMIT_RPS: 2, RATE_LIMIT_BURST: 0 } });
});
afterAll(() => gw?.close());

async function scrape(): Promise<string> {
  const res = await fetch(`${gw.baseUrl}/metrics`, { headers: gw.authHeaders });
  expect(res.status).toBe(200);
  return res.text();
}

const sample = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? 0);

describe('gateway /metrics', () => {
  it('when requests end in a route, an error inside a route or no route, then durations are labelled by the route pattern (or "unmatched"), never by the raw URL', async () => {
    const missing = randomUUID();
    expect((await gw.client().get(`/api/v1/generations/${missing}`)).status).toBe(404);
    expect((await gw.client().get(`/api/v1/characters/${missing}/versions`)).status).toBe(404);
    expect((await gw.client().get('/no/such/place')).status).toBe(404);
    const text = await scrape();
    expect(text).toMatch(/^anime_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/generations\/:id",status="404"\} [1-9]/m);
    expect(text).toMatch(/^anime_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/characters\/:idOrSlug\/versions",status="404"\} [1-9]/m);
    expect(text).toMatch(/^anime_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} [1-9]/m);
    expect(text).not.toContain(missing);
    expect(text).not.toContain('/no/such/place');
  });

  it('when the request rate limit refuses requests, then anime_rate_limit_refusals_total{limit="request_rate"} counts each refusal', async () => {
    const before = sample(await scrape(), /^anime_rate_limit_refusals_total\{limit="request_rate"\} (\d+)$/m);
    const responses = await Promise.all(Array.from({ length: 100 }, () => gw.client().get('/api/v1/schemas')));
    const refused = responses.filter((r) => r.status === 429).length;
    expect(refused).toBeGreaterThan(0);
    const after = sample(await scrape(), /^anime_rate_limit_refusals_total\{limit="request_rate"\} (\d+)$/m);
    expect(after - before).toBe(refused);
    console.log(`gateway metrics: ${refused} of 100 requests refused, counter +${after - before}`);
  });
});
