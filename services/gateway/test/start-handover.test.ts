import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { gatewayConfigSchema, loadConfig } from '@anime/config';
import { createLogger } from '@anime/logger';
import { freePort } from '@anime/stack';
import { createTestDatabase, removeQueueKeys, startTcpProxy, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TcpProxy, type TestDatabase } from '@anime/testing';
import { startGateway, type RunningGateway } from '../src/start';

// The moment the gateway's start (start.ts) hands PORT from its start-up answers (503) to the
// gateway itself: no request may meet a refused or reset connection then (a client could not tell
// whether its generation was made), and no connection a client keeps open may be cut.

const log = createLogger('gateway', 'error');
// Longer than the start takes: an idle connection or a request under way is not closed by them.
const KEEP_ALIVE_S = 20;
const HAMMER_CLIENTS = 4;
// Each client's loop is bounded in time and count whatever happens.
const HAMMER_MAX_MS = 20_000;
const HAMMER_MAX_REQUESTS = 20_000;

let database: TestDatabase;
let libraryDir: string;
let proxy: TcpProxy;
let starting: Promise<RunningGateway> | undefined;
const sockets: Socket[] = [];
const agents: Agent[] = [];
const connections: Array<{ close(): void }> = [];
const queuePrefix = uniqueQueuePrefix('gw-start-handover');

beforeAll(async () => {
  database = await createTestDatabase('gw-start-handover');
  libraryDir = await mkdtemp(path.join(tmpdir(), 'gateway-start-handover-'));
  const redis = new URL(TEST_REDIS_URL);
  proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  for (const agent of agents) agent.destroy();
  for (const connection of connections) connection.close();
  await proxy?.accept();
  await (await starting?.catch(() => undefined))?.stop();
  await proxy?.close();
  await database?.drop();
  await removeQueueKeys(queuePrefix);
  await rm(libraryDir, { recursive: true, force: true });
});

/** What one request met: its status and Retry-After, or the error of a connection refused or cut. */
function send(port: number, agent: Agent | false, i: number): Promise<string> {
  const [method, route] = i % 2 ? ['GET', '/api/v1/characters'] : ['POST', '/api/v1/generations'];
  const body = method === 'POST' ? JSON.stringify({ characterId: 'kai', prompt: 'a walk' }) : undefined;
  return new Promise((resolve) => {
    const headers = body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : undefined;
    const req = request({ host: '127.0.0.1', port, method, path: route, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${res.statusCode} retry-after ${res.headers['retry-after'] ?? 'none'}`));
      res.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
    req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
    req.end(body);
  });
}

/** Requests back to back until `done()`: what each met, runs of the same outcome told once. */
async function hammer(port: number, agent: Agent | false, done: () => boolean): Promise<string[]> {
  const outcomes: string[] = [];
  const deadline = Date.now() + HAMMER_MAX_MS;
  for (let i = 0; i < HAMMER_MAX_REQUESTS && Date.now() < deadline && !done(); i++) {
    const outcome = await send(port, agent, i);
    if (outcomes.at(-1) !== outcome) outcomes.push(outcome);
  }
  return outcomes;
}

/** A connection written to by hand: every answer read on it, and how it ended if it did. */
function rawConnection(port: number) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let ended: string | undefined;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  socket.on('error', (error: NodeJS.ErrnoException) => (ended ??= error.code ?? error.message));
  socket.on('close', () => (ended ??= 'closed by the server'));
  connections.push({ close: () => socket.destroy() });
  const answers = () => received.split(/(?=HTTP\/1\.1 )/).filter((answer) => answer.startsWith('HTTP/1.1 '));
  return {
    write: (text: string) => socket.write(text),
    /** Waits for the `count`th answer on the connection, failing as soon as the connection ends without it. */
    answer: async (count: number) => {
      await waitFor(() => answers().length >= count || ended, `answer ${count} on the connection`, 10_000);
      if (answers().length < count) throw new Error(`the connection ended (${ended}) before answer ${count}: ${JSON.stringify(received)}`);
      const [head, body] = answers()[count - 1].split('\r\n\r\n');
      const headers = Object.fromEntries(head.split('\r\n').slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      return { status: Number(head.split(' ')[1]), headers, body };
    },
    close: () => socket.destroy(),
  };
}

describe('the gateway taking PORT over from its start-up answers', () => {
  it('then no request is refused or reset: each client meets 503 with Retry-After, then the gateway; a request under way and an idle keep-alive connection go on, and the server settings are the same', async () => {
    await proxy.refuse();
    const port = await freePort();
    const config = loadConfig(gatewayConfigSchema, {
      DATABASE_URL: database.url,
      REDIS_URL: proxy.urlFor(TEST_REDIS_URL),
      QUEUE_PREFIX: queuePrefix,
      LIBRARY_DIR: libraryDir,
      PORT: String(port),
      HTTP_KEEPALIVE_TIMEOUT_MS: String(KEEP_ALIVE_S * 1_000),
      HTTP_HEADERS_TIMEOUT_MS: String(KEEP_ALIVE_S * 1_000),
    });
    starting = startGateway(config, log, '127.0.0.1');
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200, '/healthz while the start waits', 10_000);

    // What Node's parser refuses while starting (checked last: the gateway's settings already).
    const malformed = rawConnection(port);
    malformed.write('NOT A REQUEST\r\n\r\n');
    const refused = await malformed.answer(1);
    // A client's keep-alive connection, idle when the gateway takes over.
    const idle = rawConnection(port);
    idle.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const beforeSwitch = await idle.answer(1);
    // A request whose headers are half sent when the gateway takes over.
    const underWay = rawConnection(port);
    underWay.write('POST /api/v1/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    let stopAt = Infinity;
    agents.push(...Array.from({ length: HAMMER_CLIENTS }, () => new Agent({ keepAlive: true, maxSockets: 1 })));
    const clients = [...agents, ...Array.from({ length: HAMMER_CLIENTS }, () => false as const)].map((agent) => hammer(port, agent, () => Date.now() > stopAt));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await proxy.accept();
    await starting.finally(() => (stopAt = Date.now() + 300));
    const seen = await Promise.all(clients);

    // Keep-alive clients (the first half) and a fresh connection per request (the other half) alike.
    const start = '503 retry-after 5';
    const gateway = '401 retry-after none';
    expect(seen).toEqual(Array.from({ length: 2 * HAMMER_CLIENTS }, () => [start, gateway]));

    underWay.write('Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    expect((await underWay.answer(1)).status).toBe(401);
    underWay.close();
    idle.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const afterSwitch = await idle.answer(2);
    expect([afterSwitch.status, afterSwitch.headers['keep-alive']]).toEqual([200, `timeout=${KEEP_ALIVE_S}`]);
    idle.close();
    // Both phases on the same server settings: its keep-alive time, its parser refusals as JSON.
    expect([beforeSwitch.status, beforeSwitch.headers.connection, beforeSwitch.headers['keep-alive']]).toEqual([503, 'keep-alive', `timeout=${KEEP_ALIVE_S}`]);
    expect([refused.status, refused.headers['content-type'], refused.body]).toEqual([400, 'application/json; charset=utf-8', expect.stringContaining('"code":"bad_request"')]);

    // Socket.IO's upgrades are the gateway's now: a WebSocket handshake reaches its key check.
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    sockets.push(socket);
    await expect(new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject))).rejects.toThrow('unauthenticated');
  }, 60_000);
});
