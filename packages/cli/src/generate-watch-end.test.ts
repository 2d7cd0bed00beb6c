import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { ApiClient } from './api-client';
import { generateCommand } from './commands/generate';
import { getThroughRestart } from './read-through-restart';

const JOB = '00000000-0000-4000-8000-000000000002';
const ENDED = {
  id: JOB, status: 'completed', progress: null, error: null, character: { slug: 'kai', version: 1 }, request: {}, backend: 'http://comfy',
  assets: [{ path: 'default/ep00/sc000/kai/0001.png', url: `/api/v1/assets/a1/file`, sha256: 'ab'.repeat(32), width: 64, height: 64 }],
  createdAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:05Z',
};

/** What the fake gateway's REST side does with a request (the POST that creates the job is answered by the gateway itself). */
type Rest = (request: IncomingMessage, response: ServerResponse, stop: () => void) => void;

/**
 * The gateway's side of a watch: POST /api/v1/generations queues JOB, a subscribe replays its story
 * to the end (job:completed), and the rest of REST is `rest`'s. On `port` when given (a restart).
 */
async function fakeGateway(rest: Rest, port = 0, posts: string[] = []): Promise<{ port: number; stop: () => Promise<void> }> {
  const http: HttpServer = createServer((request, response) => {
    if (request.method === 'POST') {
      posts.push(request.url ?? '');
      return void response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: JOB, status: 'queued' }));
    }
    rest(request, response, () => void stop());
  });
  const io = new Server(http);
  io.on('connection', (socket) => {
    socket.on('subscribe', (_message: unknown, ack: (reply: unknown) => void) => {
      ack({ ok: true, status: 'running' });
      socket.emit('job:queued', { jobId: JOB, seq: 1 });
      socket.emit('job:completed', { jobId: JOB, seq: 2, assets: [] });
    });
  });
  const stop = () => {
    const closed = new Promise<void>((resolve) => io.close(() => resolve()));
    http.closeAllConnections();
    return closed;
  };
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  return { port: (http.address() as AddressInfo).port, stop };
}

/** `anime generate … --watch` against the gateway on `port`: what it printed, and its error if it failed. */
async function watchGenerate(port: number): Promise<{ out: string[]; err: string[]; error?: Error }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  const api = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, key: 'ak_test', keySource: 'test' });
  try {
    await generateCommand({ api: () => api, json: () => false }).exitOverride().parseAsync(['-c', 'kai', '-p', 'a rooftop', '--watch'], { from: 'user' });
    return { out, err };
  } catch (failure) {
    return { out, err, error: failure as Error };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const answer = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

describe('anime generate --watch when the gateway goes away once the job has ended', () => {
  it('when the gateway restarts just as the generation is read (its connection cut, then refused), then the watch waits for it, says so once, and prints the files', async () => {
    const stops: (() => Promise<void>)[] = [];
    let restarted: Promise<void> | undefined;
    // The first gateway cuts the read and goes away; another comes up on its port a second later.
    const first = await fakeGateway((_request, response, stop) => {
      response.socket?.destroy();
      stop();
      restarted = new Promise((resolve) => setTimeout(resolve, 1_000)).then(async () => {
        const second = await fakeGateway((_r, res) => answer(res, 200, ENDED), first.port);
        stops.push(second.stop);
      });
    });
    stops.push(first.stop);
    try {
      const result = await watchGenerate(first.port);
      expect(result.error).toBeUndefined();
      expect(result.out).toEqual(['completed: 1 file(s) in the library', expect.stringMatching(/^ {2}default\/ep00\/sc000\/kai\/0001\.png {2}64x64 /)]);
      const waiting = result.err.filter((line) => line.includes('waiting'));
      expect(waiting).toEqual([expect.stringMatching(new RegExp(`^the gateway is away \\(.+\\); waiting up to 30 s to read how ${JOB} ended…$`))]);
    } finally {
      await restarted;
      for (const stop of stops) await stop();
    }
  }, 20_000);

  it("when the read is answered 503 with Retry-After: 1 (the gateway not ready yet), then it is asked again no sooner than that, and the watch ends with the files", async () => {
    const reads: number[] = [];
    const gateway = await fakeGateway((_request, response) => {
      reads.push(Date.now());
      if (reads.length === 1) return answer(response, 503, { error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } }, { 'retry-after': '1' });
      answer(response, 200, ENDED);
    });
    try {
      const result = await watchGenerate(gateway.port);
      expect(result.error).toBeUndefined();
      expect(result.out[0]).toBe('completed: 1 file(s) in the library');
      expect(reads).toHaveLength(2);
      expect(reads[1] - reads[0]).toBeGreaterThanOrEqual(950);
      expect(result.err.filter((line) => line.includes('waiting'))).toHaveLength(1);
    } finally {
      await gateway.stop();
    }
  }, 20_000);

  it('when the POST that creates the generation is answered 503, then it is not sent again: the command fails with that answer', async () => {
    const posts: string[] = [];
    const http = createServer((request, response) => {
      posts.push(`${request.method} ${request.url}`);
      answer(response, 503, { error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } }, { 'retry-after': '1' });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const result = await watchGenerate((http.address() as AddressInfo).port);
      expect(result.error?.message).toBe('503 database_unavailable: the database is unavailable; try again shortly (retry after 1 s)');
      expect(posts).toEqual(['POST /api/v1/generations']);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

describe('anime generate --watch when the watch itself fails', () => {
  it('when the handshake is refused for good (unauthenticated), then the command fails with it and leaves no Ctrl-C handler of the watch installed', async () => {
    const http = createServer((request, response) => {
      if (request.method === 'POST') return answer(response, 201, { id: JOB, status: 'queued' });
      answer(response, 404, { error: { code: 'not_found', message: 'no such generation' } });
    });
    const io = new Server(http);
    io.use((_socket, next) => next(Object.assign(new Error('unauthenticated'), { data: { code: 'unauthenticated', message: 'the API key is revoked' } })));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const before = process.listeners('SIGINT');
    try {
      const result = await watchGenerate((http.address() as AddressInfo).port);
      expect(result.error?.message).toBe(`cannot follow ${JOB} over Socket.IO: unauthenticated`);
      // Before: the watch's handler stayed, and a later Ctrl-C said "stopped following" for a watch long over.
      expect(process.listeners('SIGINT')).toEqual(before);
    } finally {
      const closed = new Promise((resolve) => io.close(resolve));
      http.closeAllConnections();
      await closed;
    }
  });
});

describe('getThroughRestart', () => {
  it('when the gateway stays away past the bound, then the read gives up with the error it would have had at once, said waiting once', async () => {
    // A port nobody listens on: every try is refused.
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    await new Promise((resolve) => http.close(resolve));
    const api = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, key: null, keySource: 'test' });
    const told: string[] = [];
    const start = Date.now();
    await expect(getThroughRestart(api, `/api/v1/generations/${JOB}`, { withinMs: 1_200, onWaiting: (reason) => told.push(reason) })).rejects.toThrow(/^cannot reach the gateway at .*ECONNREFUSED.*; is it running\? \(pnpm start\)$/);
    const took = Date.now() - start;
    expect(took).toBeGreaterThanOrEqual(1_100);
    expect(took).toBeLessThan(3_000);
    expect(told).toEqual([expect.stringMatching(/ECONNREFUSED/)]);
  });

  it('when the answer is a refusal that is not "for now" (404), or its Retry-After is past the bound, then it is not asked again', async () => {
    const reads: string[] = [];
    const http = createServer((request, response) => {
      reads.push(request.url ?? '');
      if (request.url?.endsWith('/missing')) return answer(response, 404, { error: { code: 'not_found', message: 'no such generation' } });
      answer(response, 503, { error: { code: 'database_unavailable', message: 'later' } }, { 'retry-after': '60' });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const api = new ApiClient({ baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, key: null, keySource: 'test' });
    try {
      await expect(getThroughRestart(api, '/api/v1/generations/missing')).rejects.toThrow('404 not_found: no such generation');
      await expect(getThroughRestart(api, '/api/v1/generations/later', { withinMs: 5_000 })).rejects.toThrow('503 database_unavailable: later (retry after 60 s)');
      expect(reads).toEqual(['/api/v1/generations/missing', '/api/v1/generations/later']);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
