import { request } from 'node:http';
import WebSocket from 'ws';
import { emptyImageProbe, startSimulator, type Simulator } from '../src';

/** One request with the headers a browser adds (Origin), which fetch in Node never sends. */
function send(sim: Simulator, method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${sim.url}${path}`, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The status a WebSocket handshake ends with: 101 when it opens. */
function handshake(sim: Simulator, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${sim.url.replace(/^http/, 'ws')}/ws?clientId=origin-test`, origin === undefined ? {} : { origin });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', (error) => (error.message.includes('Unexpected server response') ? undefined : reject(error)));
  });
}

// Protocol notes §1: with a loopback Host, an Origin naming another host is refused with a 403 (ComfyUI's
// origin_only_middleware, on unless --enable-cors-header), routes and /ws alike.
describe('the origin guard of a ComfyUI bound to loopback', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  it('when a page of another host posts a prompt, then it is a 403 and nothing is queued', async () => {
    const before = sim.received.length;
    const body = JSON.stringify({ prompt: emptyImageProbe('origin') });
    expect(await send(sim, 'POST', '/prompt', { Origin: 'http://evil.example' }, body)).toBe(403);
    expect(await send(sim, 'GET', '/queue', { Origin: 'http://localhost:3000' })).toBe(403);
    expect(sim.received.length).toBe(before);
  });

  it('when the Origin is the server itself, names no host, or the Host is not loopback, then the request is served', async () => {
    expect(await send(sim, 'GET', '/queue', { Origin: sim.url })).toBe(200);
    // No port in the Origin: the Host's port is left out of the comparison too.
    expect(await send(sim, 'GET', '/queue', { Origin: 'http://127.0.0.1' })).toBe(200);
    expect(await send(sim, 'GET', '/queue', { Origin: 'null' })).toBe(200);
    expect(await send(sim, 'GET', '/queue', { Origin: 'http://evil.example', Host: 'gpu-3.internal:8188' })).toBe(200);
    expect(await send(sim, 'GET', '/queue', {})).toBe(200);
  });

  it('when a page of another host opens the socket, then the handshake is a 403; without an Origin it opens', async () => {
    expect(await handshake(sim, 'http://evil.example')).toBe(403);
    expect(await handshake(sim)).toBe(101);
  });
});
