import { request } from 'node:http';
import { startSimulator, type Simulator } from '../src';

/** One raw request (fetch cannot set Origin), answering the status, headers and body. */
function send(sim: Simulator, method: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(`${sim.url}${path}`, { method, headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * server.create_origin_only_middleware (on unless --enable-cors-header) ends with
 * `if request.method == "OPTIONS": response = web.Response()`, ahead of any route, and aiohttp runs
 * middlewares even for paths no route has: every OPTIONS (a CORS preflight) gets an empty 200 once
 * the Host/Origin check has passed. Being outside the middleware that adds the Content-Security-Policy,
 * that answer has none.
 */
describe.each([
  ['0.8.0', 'application/octet-stream'],
  ['0.3.64', undefined],
] as const)('OPTIONS requests on ComfyUI %s', (comfyuiVersion, emptyContentType) => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ comfyuiVersion });
  });

  afterAll(() => sim.close());

  it.each(['/prompt', '/api/queue', '/system_stats', '/no/such/route'])('when OPTIONS %s comes, then it is an empty 200', async (path) => {
    const answer = await send(sim, 'OPTIONS', path, { 'Access-Control-Request-Method': 'POST' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');
    expect(answer.headers['content-length']).toBe('0');
    expect(answer.headers['content-type']).toBe(emptyContentType);
    expect(answer.headers['content-security-policy']).toBeUndefined();
    expect(answer.headers.server).toBe('Python/3.11 aiohttp/3.8.4');
  });

  it('when the preflight comes from a page of another host, then the origin check answers 403 first', async () => {
    expect((await send(sim, 'OPTIONS', '/prompt', { Origin: 'http://evil.example' })).status).toBe(403);
  });
});
