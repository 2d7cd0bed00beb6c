import { connect } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// Requests Node's HTTP parser refuses before Express sees them (too long, malformed, too slow):
// the contract wants every non-2xx answer as JSON { error: { code, message } }, these too.

// Short limits so the timeouts are seen in a second or two.
const EDGE = { headersTimeoutMs: 500, requestTimeoutMs: 1_000, uploadTimeoutMs: 1_500 };

let gateway: TestGateway;
let port: number;
const sockets: Socket[] = [];

beforeAll(async () => {
  gateway = await startTestGateway('parser-refusals', { edge: EDGE });
  port = Number(new URL(gateway.baseUrl).port);
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await gateway?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server wrote on the connection. */
  raw: string;
}

/** Writes `chunks` on a fresh connection (each after `gapMs`) and reads what comes back until the server closes it. */
function exchange(chunks: string[], gapMs = 0): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (chunk) => (raw += chunk.toString('utf8')));
    // The server may close while the client still writes: what was answered is what counts.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(parse(raw)));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) break;
        socket.write(chunk);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

/** The last response on the connection (an earlier keep-alive one is skipped). */
function parse(raw: string): Answer {
  const at = raw.lastIndexOf('HTTP/1.1 ');
  const text = at < 0 ? '' : raw.slice(at);
  const [head, ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: rest.join('\r\n\r\n'), raw };
}

const expectJsonError = (answer: Answer, status: number, code: string) => {
  expect({ status: answer.status, code: JSON.parse(answer.body || '{}').error?.code }).toEqual({ status, code });
  expect(JSON.parse(answer.body).error.message).toEqual(expect.any(String));
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  expect(answer.headers.connection).toBe('close');
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
};

const request = (target: string, headers = '') => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gateway.apiKey}\r\n${headers}\r\n`;

describe("requests Node's HTTP parser refuses", () => {
  it('when the URL is 100,000 characters long, then 431 headers_too_large as JSON', async () => {
    expectJsonError(await exchange([request(`/api/v1/generations?project=${'a'.repeat(100_000)}`)]), 431, 'headers_too_large');
  });

  it('when a header is larger than the limit, then 431 headers_too_large as JSON', async () => {
    expectJsonError(await exchange([request('/api/v1/generations', `X-Big: ${'b'.repeat(20_000)}\r\n`)]), 431, 'headers_too_large');
  });

  it('when the request line or a header is malformed, then 400 bad_request as JSON', async () => {
    expectJsonError(await exchange(['NOT A REQUEST\r\n\r\n']), 400, 'bad_request');
    expectJsonError(await exchange([request('/healthz', 'Bad Header Name: x\r\n')]), 400, 'bad_request');
    expectJsonError(await exchange([request('/healthz', 'Content-Length: 1\r\nContent-Length: 2\r\n')]), 400, 'bad_request');
  });

  it('when a keep-alive connection answered one request and the next is too large, then that one gets its JSON 431', async () => {
    const answer = await exchange([request('/healthz'), request(`/healthz?${'c'.repeat(100_000)}`)], 200);
    expect(answer.raw).toMatch(/^HTTP\/1\.1 200 /);
    expectJsonError(answer, 431, 'headers_too_large');
  });

  it('when the headers do not arrive within the headers timeout, then 408 request_timeout as JSON', async () => {
    expectJsonError(await exchange(['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n']), 408, 'request_timeout');
  });

  it('when an upload body does not arrive within the upload timeout, then 408 request_timeout as JSON', async () => {
    const head = `POST /api/v1/characters/kai/references HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gateway.apiKey}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n`;
    expectJsonError(await exchange([head, '--x\r\n']), 408, 'request_timeout');
  });
});

describe('Socket.IO beside the refusals', () => {
  const open = (transports: ('websocket' | 'polling')[]) => {
    const socket = io(gateway.baseUrl, { transports, forceNew: true, reconnection: false, auth: { token: gateway.apiKey } });
    sockets.push(socket);
    return new Promise<Socket>((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  };

  it('when the parser refuses other connections, then an open Socket.IO connection stays up and new ones, websocket or polling, still connect', async () => {
    const websocket = await open(['websocket']);
    const polling = await open(['polling']);
    await Promise.all([exchange([request(`/socket.io/?EIO=4&transport=polling&x=${'d'.repeat(100_000)}`)]), exchange(['NOT A REQUEST\r\n\r\n'])]);
    const jobId = (await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'still here' })).body.id;
    for (const socket of [websocket, polling]) {
      expect(socket.connected).toBe(true);
      expect(await socket.timeout(5_000).emitWithAck('subscribe', { jobId })).toEqual(expect.objectContaining({ ok: true }));
    }
    expect((await open(['websocket'])).connected).toBe(true);
    expect((await open(['polling'])).connected).toBe(true);
  });
});
