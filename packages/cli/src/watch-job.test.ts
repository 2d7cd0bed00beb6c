import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { ApiClient } from './api-client';
import { watchJob, type ConnectionChange } from './watch-job';

const JOB = '00000000-0000-4000-8000-000000000001';

/** A fake gateway's Socket.IO side on a port of its own, `serve` set up on it before it listens: a client of it, and how to stop it. */
async function fakeGateway(serve: (io: Server) => void): Promise<{ api: ApiClient; stop: () => Promise<void> }> {
  const http = createServer();
  const io = new Server(http);
  serve(io);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const api = new ApiClient({ baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, key: 'ak_test', keySource: 'test' });
  const stop = async () => {
    const closed = new Promise((resolve) => io.close(resolve));
    http.closeAllConnections();
    await closed;
  };
  return { api, stop };
}

describe('watchJob when the gateway cannot follow the job for now', () => {
  it('when subscribe is answered database_unavailable (the gateway\'s PostgreSQL away), then it is said and asked again, and the watch goes on to the end', async () => {
    // The gateway's side of the protocol: the first subscribe meets a database outage, the next one replays the story.
    const answers = [
      { ok: false, error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } },
      { ok: true, status: 'running' },
    ];
    let subscribes = 0;
    const { api, stop } = await fakeGateway((io) =>
      io.on('connection', (socket) => {
        socket.on('subscribe', (_message: unknown, ack: (reply: unknown) => void) => {
          const answer = answers[Math.min(subscribes++, answers.length - 1)];
          ack(answer);
          if (answer.ok) {
            socket.emit('job:queued', { jobId: JOB, seq: 1 });
            socket.emit('job:completed', { jobId: JOB, seq: 2, assets: [] });
          }
        });
      }),
    );
    const changes: ConnectionChange[] = [];
    try {
      const terminal = await watchJob(api, JOB, () => undefined, (change) => changes.push(change));
      expect(terminal.name).toBe('job:completed');
      expect(subscribes).toBe(2);
      expect(changes).toEqual([{ state: 'lost', reason: 'database_unavailable' }, { state: 'back' }]);
    } finally {
      await stop();
    }
  }, 20_000);

  it.each([
    // The gateway's key check (the Socket.IO middleware) met a database outage once.
    { code: 'database_unavailable', message: 'could not check the API key; try again shortly' },
    // The key was at SOCKET_MAX_CONNECTIONS_PER_KEY for the first handshake, then one of its connections closed.
    { code: 'too_many_connections', message: 'this API key has 500 connections open to this gateway, at most 500 (SOCKET_MAX_CONNECTIONS_PER_KEY); close one first' },
  ])('when the handshake is refused $code once (a refusal for now), then it is said and tried again, and the watch goes on to the end', async ({ code, message }) => {
    // The gateway's side: the first handshake refused with `code`, the next let in.
    let handshakes = 0;
    const { api, stop } = await fakeGateway((io) => {
      io.use((_socket, next) => {
        if (++handshakes > 1) return next();
        const error = new Error(code) as Error & { data?: unknown };
        error.data = { code, message };
        next(error);
      });
      io.on('connection', (socket) => {
        socket.on('subscribe', (_message: unknown, ack: (reply: unknown) => void) => {
          ack({ ok: true, status: 'running' });
          socket.emit('job:queued', { jobId: JOB, seq: 1 });
          socket.emit('job:completed', { jobId: JOB, seq: 2, assets: [] });
        });
      });
    });
    const changes: ConnectionChange[] = [];
    try {
      const terminal = await watchJob(api, JOB, () => undefined, (change) => changes.push(change));
      expect(terminal.name).toBe('job:completed');
      expect(handshakes).toBe(2);
      expect(changes).toEqual([{ state: 'lost', reason: code }, { state: 'back' }]);
    } finally {
      await stop();
    }
  }, 20_000);
});

describe('watchJob when the job ended while the gateway was away', () => {
  it('when the replay after a reconnection ends the job before the subscribe is answered, then the watch still says it got the gateway back', async () => {
    // The gateway's side: the first connection follows the job until the transport is cut (a restart);
    // the next one replays the story, terminal event included, and its ack comes after it, in a later
    // read (a loaded gateway, or one that reads the status again before answering).
    let connections = 0;
    const timers: NodeJS.Timeout[] = [];
    const { api, stop } = await fakeGateway((io) =>
      io.on('connection', (socket) => {
        const connection = ++connections;
        socket.on('subscribe', (_message: unknown, ack: (reply: unknown) => void) => {
          if (connection === 1) {
            ack({ ok: true, status: 'running' });
            socket.emit('job:started', { jobId: JOB, seq: 2, backend: 'http://comfy' });
            timers.push(setTimeout(() => socket.conn.close(), 50));
            return;
          }
          socket.emit('job:queued', { jobId: JOB, seq: 1 });
          socket.emit('job:started', { jobId: JOB, seq: 2, backend: 'http://comfy' });
          socket.emit('job:completed', { jobId: JOB, seq: 3, assets: [] });
          timers.push(setTimeout(() => ack({ ok: true, status: 'completed' }), 200));
        });
      }),
    );
    const story: string[] = [];
    try {
      const terminal = await watchJob(
        api,
        JOB,
        (event) => story.push(event.name),
        (change) => story.push(change.state === 'lost' ? `lost (${change.reason})` : 'back'),
      );
      expect(terminal.name).toBe('job:completed');
      // Nothing more is said once the watch has ended (the answer it no longer waits for included).
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(connections).toBe(2);
      // Said in the order it happened: lost, back, then what was missed (each event once), then the end.
      expect(story).toEqual(['job:started', 'lost (transport close)', 'back', 'job:completed']);
    } finally {
      timers.forEach(clearTimeout);
      await stop();
    }
  }, 20_000);
});
