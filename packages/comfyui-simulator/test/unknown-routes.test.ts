import { request } from 'node:http';
import { startSimulator, type Simulator } from '../src';
import { capture } from './helpers/captures';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw request, its path sent as it stands (a URL would resolve //queue or /a/../queue first). */
function send(sim: Simulator, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) };
    const req = request({ host: new URL(sim.url).hostname, port: sim.port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * How aiohttp routes ComfyUI's paths (run against Debian's aiohttp 3.8.4, the captured server's, with
 * server.py's route wiring). server.add_routes registers `web.static('/', self.web_root)` last, a
 * catch-all for GET and HEAD: a GET or HEAD no route takes is its 404 (no such file), and any other
 * method no route takes is a 405 whose Allow lists the methods of every resource matching the path,
 * the catch-all's GET and HEAD included, sorted. RouteTableDef.get registers through add_get, so every
 * GET route answers HEAD. Paths match whole: "/queue/" is not "/queue". aiohttp's own 404 and 405
 * are raised, so ComfyUI's Content-Security-Policy middleware never adds its header to them.
 */
describe('paths and methods no route takes', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator();
  });

  afterAll(() => sim.close());

  it.each(['/queue', '/api/queue', '/system_stats', '/history/nobody', '/prompt', '/'])('when HEAD %s comes, then it is the GET answer without its body', async (path) => {
    const [head, get] = [await send(sim, 'HEAD', path), await send(sim, 'GET', path)];
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.body)));
    expect(head.headers['content-security-policy']).toBe(get.headers['content-security-policy']);
  });

  it.each([
    ['GET', '/nope'],
    ['GET', '/interrupt'],
    ['GET', '/api/free'],
    ['GET', '/upload/image'],
    ['GET', '/queue/'],
    ['GET', '//queue'],
    ['GET', '/history/'],
    ['GET', '/api'],
    ['GET', '/api/api/queue'],
    ['GET', '/a/../queue'],
    ['GET', '/api/./queue'],
  ])('when %s %s comes, then the static catch-all answers a bare 404', async (method, path) => {
    const answer = await send(sim, method, path);
    expect(answer).toMatchObject({ status: 404, body: '404: Not Found' });
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.headers['content-security-policy']).toBeUndefined();
    expect(answer.headers.allow).toBeUndefined();
  });

  it('when HEAD comes for a path only POST serves, then it is a 404 without a body', async () => {
    const answer = await send(sim, 'HEAD', '/interrupt');
    expect(answer).toMatchObject({ status: 404, body: '' });
    expect(answer.headers['content-length']).toBe('14');
  });

  it.each([
    ['POST', '/nope', 'GET,HEAD'],
    ['PUT', '/api/nope', 'GET,HEAD'],
    ['DELETE', '/queue', 'GET,HEAD,POST'],
    ['PATCH', '/interrupt', 'GET,HEAD,POST'],
    ['DELETE', '/api/history', 'GET,HEAD,POST'],
    ['PUT', '/history/abc', 'GET,HEAD'],
    ['POST', '/system_stats', 'GET,HEAD'],
    ['PUT', '/upload/image', 'GET,HEAD,POST'],
    ['POST', '/queue/', 'GET,HEAD'],
    ['POST', '/ws', 'GET,HEAD'],
  ])('when %s %s comes, then it is a 405 allowing %s', async (method, path, allow) => {
    const answer = await send(sim, method, path, method === 'GET' ? undefined : '{}');
    expect(answer).toMatchObject({ status: 405, body: '405: Method Not Allowed' });
    expect(answer.headers.allow).toBe(allow);
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.headers['content-security-policy']).toBeUndefined();
  });

  it('when GET /api/ comes, then it is the index, "/api" + "/" being a route of its own', async () => {
    const [index, api] = [await send(sim, 'GET', '/'), await send(sim, 'GET', '/api/')];
    expect(api.status).toBe(200);
    expect(api.body).toBe(index.body);
  });

  it('when GET /ws comes without a WebSocket upgrade, then the handshake refuses it with a 400', async () => {
    for (const path of ['/ws', '/api/ws']) {
      const answer = await send(sim, 'GET', path);
      expect(answer).toMatchObject({ status: 400, body: 'No WebSocket UPGRADE hdr: None\n Can "Upgrade" only to "WebSocket".' });
      expect(answer.headers['content-security-policy']).toBeUndefined();
    }
  });

  it('when a handler raises, then the 500 has the captured headers: no Content-Security-Policy, Connection: close', async () => {
    const captured = capture('29_non_json_body_post_prompt_response.json');
    const answer = await send(sim, 'POST', '/prompt', captured.request_data);
    expect(answer.status).toBe(500);
    expect(answer.body).toBe(captured.text);
    expect(answer.headers['content-security-policy']).toBeUndefined();
    expect(answer.headers.connection).toBe(captured.headers.Connection);
    expect(answer.headers['content-type']).toBe(captured.headers['Content-Type']);
  });
});
