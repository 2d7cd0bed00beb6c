import { connect, type Socket } from 'node:net';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// Short limits so the test runs in seconds; production defaults are 10 s, 30 s, 5 s and 5 min.
const EDGE = { headersTimeoutMs: 2_000, requestTimeoutMs: 3_000, keepAliveTimeoutMs: 500, uploadTimeoutMs: 6_000 };
// Node checks its timeouts every quarter of the shortest limit here (500 ms); timers on a shared,
// busy machine may run late by a second and more.
const MARGIN_MS = 2_000;

let gateway: TestGateway;
let port: number;

beforeAll(async () => {
  // 40 bodies of one key dribble at once here, to see each cut by its deadline: past
  // REQUEST_BODIES_PER_KEY (8) they would be refused at once instead (rate-limits.test.ts).
  gateway = await startTestGateway('slow-clients', { edge: EDGE, limits: { REQUEST_BODIES_PER_KEY: 100 } });
  port = Number(new URL(gateway.baseUrl).port);
  // Warm: the first query opens the database pool.
  expect((await gateway.client().get('/api/v1/characters')).status).toBe(200);
});
afterAll(() => gateway?.close());

interface SlowSocket {
  /** Milliseconds from connecting to the server closing the socket; resolves when it closes. */
  closedAfter: Promise<number>;
  /** What the server wrote before closing. */
  received: () => string;
  socket: Socket;
}

/** A client that sends `head` then one byte of `dribble` every 200 ms, forever unless the server closes it. */
function slowClient(head: string, dribble: string): SlowSocket {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let timer: NodeJS.Timeout | undefined;
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.on('connect', () => {
    if (head) socket.write(head);
    let i = 0;
    timer = setInterval(() => {
      if (dribble && !socket.destroyed && socket.writable) socket.write(dribble[i++ % dribble.length]);
    }, 200);
  });
  const closedAfter = new Promise<number>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  return { closedAfter, received: () => received, socket };
}

const HEADERS_DRIBBLED = ['GET /api/v1/characters HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'] as const;
const bodyTo = (path: string, contentType: string, key?: string) => [
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${key ? `Authorization: Bearer ${key}\r\n` : ''}Content-Type: ${contentType}\r\nContent-Length: 100000\r\n\r\n`,
  '{"character":"kai","prompt":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
] as const;

describe('slow clients against the gateway', () => {
  it('when 80 sockets dribble headers or a body to a non-upload route, then each is closed within its timeout while normal requests are answered', async () => {
    const headerClients = Array.from({ length: 40 }, () => slowClient(...HEADERS_DRIBBLED));
    const bodyClients = Array.from({ length: 40 }, () => slowClient(...bodyTo('/api/v1/generations', 'application/json', gateway.apiKey)));

    let slowClosed = 0;
    for (const client of [...headerClients, ...bodyClients]) void client.closedAfter.then(() => slowClosed++);
    // Meanwhile the gateway answers others: the first ones while every slow socket is still open (not
    // after the slow ones were timed out), and none waits anywhere near a timeout plus the margin.
    const api = gateway.client();
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      expect((await api.get('/healthz')).status).toBe(200);
      expect((await api.get('/api/v1/characters')).status).toBe(200);
      if (i === 0) expect(slowClosed).toBe(0);
      expect(Date.now() - started).toBeLessThan(EDGE.headersTimeoutMs + MARGIN_MS);
      await new Promise((r) => setTimeout(r, 150));
    }

    const headerTimes = await Promise.all(headerClients.map((c) => c.closedAfter));
    const bodyTimes = await Promise.all(bodyClients.map((c) => c.closedAfter));
    console.log(`slow sockets closed after (ms): headers dribbled ${Math.min(...headerTimes)}–${Math.max(...headerTimes)} (limit ${EDGE.headersTimeoutMs}); body dribbled ${Math.min(...bodyTimes)}–${Math.max(...bodyTimes)} (limit ${EDGE.requestTimeoutMs})`);
    for (const ms of headerTimes) {
      expect(ms).toBeGreaterThanOrEqual(EDGE.headersTimeoutMs - 50);
      expect(ms).toBeLessThanOrEqual(EDGE.headersTimeoutMs + MARGIN_MS);
    }
    for (const ms of bodyTimes) {
      expect(ms).toBeGreaterThanOrEqual(EDGE.requestTimeoutMs - 50);
      expect(ms).toBeLessThanOrEqual(EDGE.requestTimeoutMs + MARGIN_MS);
    }
    for (const client of headerClients) expect(client.received()).toMatch(/^(HTTP\/1\.1 408|$)/);
    for (const client of bodyClients) {
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(client.received()).toContain('"code":"request_timeout"');
    }
  }, 20_000);

  it('when a socket connects and sends nothing, then it is closed within the headers timeout', async () => {
    const idle = slowClient('', '');
    const ms = await idle.closedAfter;
    expect(ms).toBeLessThanOrEqual(EDGE.headersTimeoutMs + MARGIN_MS);
  });

  it('when a request was answered early but its body still trickles in, then the socket is closed within the request timeout', async () => {
    // Not JSON and no key: nothing reads the body, the 401 goes out at once.
    const client = slowClient(...bodyTo('/api/v1/no-such-route', 'text/plain'));
    const ms = await client.closedAfter;
    expect(client.received()).toMatch(/^HTTP\/1\.1 401 /);
    expect(ms).toBeLessThanOrEqual(EDGE.requestTimeoutMs + MARGIN_MS);
  });

  it('when an upload route receives a slow body, then it has the upload timeout, not the request timeout', async () => {
    const reference = slowClient(...bodyTo('/api/v1/characters/kai/references', 'multipart/form-data; boundary=x', gateway.apiKey));
    const bundle = slowClient(...bodyTo('/api/v1/characters/import', 'multipart/form-data; boundary=x', gateway.apiKey));
    await new Promise((r) => setTimeout(r, EDGE.requestTimeoutMs + MARGIN_MS));
    expect(reference.socket.destroyed).toBe(false);
    expect(bundle.socket.destroyed).toBe(false);
    const times = await Promise.all([reference.closedAfter, bundle.closedAfter]);
    for (const ms of times) {
      expect(ms).toBeGreaterThanOrEqual(EDGE.uploadTimeoutMs - 50);
      expect(ms).toBeLessThanOrEqual(EDGE.uploadTimeoutMs + MARGIN_MS);
    }
  }, 15_000);

  it('when a keep-alive connection sits idle, then it is closed after the keep-alive timeout', async () => {
    const client = slowClient('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '');
    const ms = await client.closedAfter;
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(client.received()).toMatch(/Keep-Alive: timeout=0\b/i);
    // Node keeps the socket one second past the timeout it announces, so a client reusing it at
    // the last moment does not race the close.
    expect(ms).toBeLessThanOrEqual(EDGE.keepAliveTimeoutMs + 1_000 + MARGIN_MS);
  });
});
