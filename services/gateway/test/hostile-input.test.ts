import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('hostile-input');
  api = gateway.client();
});
afterAll(() => gateway?.close());

const routes = ['/api/v1/generations', '/api/v1/characters', '/api/v1/assets', '/api/v1/workflows', '/api/v1/backends', '/api/v1/queues', '/api/v1/characters/kai', '/healthz'];
const hostile: [string, string][] = [
  ['a NUL', 'project=%00'],
  ['a NUL in a parameter name', 'a%00b=1'],
  ['a lone high surrogate (CESU bytes)', 'project=%ED%A0%80'],
  ['a lone low surrogate (CESU bytes)', 'q=%ED%B0%80'],
  ['a percent sign not followed by two hex digits', 'project=%zz'],
  ['a truncated UTF-8 sequence', 'project=%E3%81'],
  ['a byte that cannot start UTF-8', 'project=%FF'],
];

describe('query parameters on every route', () => {
  it.each(hostile)('when a query holds %s, then every route answers 400 validation_failed, never a 500', async (_what, query) => {
    for (const route of routes) {
      const response = await api.get(`${route}?${query}`);
      expect({ route, status: response.status, code: response.body?.error?.code }).toEqual({ route, status: 400, code: 'validation_failed' });
      expect(response.body.error.details).toEqual([expect.objectContaining({ path: expect.any(String), message: expect.any(String) })]);
    }
  });

  it('when a query is well-formed UTF-8 (emoji, accents, plus signs), then it passes through to the route', async () => {
    expect((await api.get('/api/v1/characters?q=%F0%9F%98%80+caf%C3%A9')).status).toBe(200);
    expect((await api.get('/api/v1/generations?project=demo&limit=5')).status).toBe(200);
  });

  it('when a query holds a thousand parameters, then 400 validation_failed names the limit', async () => {
    const response = await api.get(`/api/v1/generations?${Array.from({ length: 1000 }, (_, i) => `p${i}=1`).join('&')}`);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain('more than 100 query parameters');
  });

  it('when a list asks for more than its page limit or a malformed cursor, then 400 validation_failed', async () => {
    for (const route of ['/api/v1/generations', '/api/v1/characters']) {
      expect((await api.get(`${route}?limit=100000`)).status).toBe(400);
      expect((await api.get(`${route}?cursor=not-a-cursor`)).status).toBe(400);
      expect((await api.get(`${route}?limit=1&limit=2`)).status).toBe(400);
    }
  });
});

describe('JSON bodies on every route', () => {
  const depth = 200_000;
  const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const bodies: [string, string][] = [
    ['/api/v1/workflows', `{"slug":"deep","graph":{"1":{"class_type":"X","inputs":{"a":${deep}}}}}`],
    ['/api/v1/characters', `{"name":"x","definition":{"displayName":"x","legacy":${deep}}}`],
    ['/api/v1/generations', `{"character":"x","prompt":"x","params":{"a":${deep}}}`],
  ];

  it.each(bodies)('when a body posted to %s nests 200,000 levels deep, then 400 validation_failed names the limit, never a 500', async (route, body) => {
    const response = await fetch(`${gateway.baseUrl}${route}`, { method: 'POST', headers: { ...gateway.authHeaders, 'content-type': 'application/json' }, body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: unknown }).error).toEqual(expect.objectContaining({ code: 'validation_failed', message: expect.stringContaining('nested deeper than 64 levels') }));
  });
});

describe('strings PostgreSQL cannot store, in JSON bodies', () => {
  // JSON.stringify writes NUL as \u0000 and a lone surrogate as \ud800: both reach the gateway intact.
  const unstorable = ['https://example.com/\u0000', 'https://example.com/?q=\u0000', 'https://example.com/#\u0000', 'https://example.com/\ud800', 'https://example.com/\udc00x'];

  it('when a webhook URL holds NUL or a lone surrogate, then registering it is 400 validation_failed on url and nothing is stored', async () => {
    for (const url of unstorable) {
      const response = await api.post('/api/v1/webhooks', { url, events: ['generation.completed'] });
      expect({ url, status: response.status, code: response.body?.error?.code, paths: response.body?.error?.details?.map((d: { path: string }) => d.path) }).toEqual({ url, status: 400, code: 'validation_failed', paths: ['url'] });
    }
    expect(await gateway.db.webhookEndpoint.count()).toBe(0);
  });

  it("when a generation's webhook.url holds NUL or a lone surrogate, then it is 400 validation_failed on webhook.url, not webhook_not_registered", async () => {
    for (const url of unstorable) {
      const response = await api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'x', webhook: { url } });
      expect({ url, status: response.status, code: response.body?.error?.code, paths: response.body?.error?.details?.map((d: { path: string }) => d.path) }).toEqual({ url, status: 400, code: 'validation_failed', paths: ['webhook.url'] });
    }
    expect(await gateway.db.generationJob.count()).toBe(0);
  });
});

describe('path parameters on every route', () => {
  const segments = ['a%00b', '%ED%A0%80', '%E0%A4%A', 'x'.repeat(4000)];
  const templates = [
    'GET /api/v1/generations/:p',
    'POST /api/v1/generations/:p/cancel',
    'POST /api/v1/generations/:p/retry',
    'GET /api/v1/assets/:p',
    'GET /api/v1/assets/:p/file',
    'GET /api/v1/characters/:p',
    'DELETE /api/v1/characters/:p',
    'GET /api/v1/characters/:p/export',
    'GET /api/v1/characters/:p/versions',
    'POST /api/v1/characters/:p/versions',
    'GET /api/v1/characters/:p/versions/:p',
    'GET /api/v1/characters/:p/versions/:p/diff/:p',
    'GET /api/v1/characters/:p/references',
    'POST /api/v1/characters/:p/references',
    'GET /api/v1/characters/:p/references/:p/file',
    'DELETE /api/v1/characters/:p/references/:p',
    'GET /api/v1/workflows/:p',
    'GET /api/v1/workflows/:p/versions',
    'GET /api/v1/workflows/:p/versions/:p',
    'POST /api/v1/backends/:p/drain',
    'POST /api/v1/backends/:p/undrain',
    'POST /api/v1/queues/:p/pause',
    'POST /api/v1/queues/:p/resume',
    'GET /api/v1/schemas/:p',
  ];

  it('when a path segment holds NUL, broken percent-encoding, a lone surrogate or 4000 characters, then every route answers 4xx, never a 5xx', async () => {
    const answers: string[] = [];
    for (const template of templates) {
      const [method, route] = template.split(' ');
      for (const segment of segments) {
        const response = await fetch(`${gateway.baseUrl}${route.replaceAll(':p', segment)}`, {
          method,
          ...(method === 'POST' ? { headers: { ...gateway.authHeaders, 'content-type': 'application/json' }, body: '{}' } : { headers: gateway.authHeaders }),
        });
        const body = (await response.json()) as { error?: { code?: string } };
        if (response.status < 400 || response.status >= 500 || !body.error?.code) answers.push(`${template} ${segment.slice(0, 12)} → ${response.status}`);
      }
    }
    expect(answers).toEqual([]);
  });
});
