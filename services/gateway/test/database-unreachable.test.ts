import { io, type Socket } from 'socket.io-client';
import { startTcpProxy, TEST_POSTGRES, waitFor, type TcpProxy } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let proxy: TcpProxy;
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
let socket: Socket;
let generationId: string;

beforeAll(async () => {
  proxy = await startTcpProxy(TEST_POSTGRES);
  gateway = await startTestGateway('db-unreachable', { connectVia: (url) => proxy.urlFor(url) });
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  generationId = (await api.post('/api/v1/generations', { character: 'kai', prompt: 'on a rooftop' })).body.id;
  socket = io(gateway.baseUrl, { transports: ['websocket'], forceNew: true, auth: { token: gateway.apiKey } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
});
afterAll(async () => {
  socket?.disconnect();
  await proxy?.accept();
  await gateway?.close();
  await proxy?.close();
});

const subscribe = () => socket.timeout(10_000).emitWithAck('subscribe', { jobId: generationId });

describe('the gateway while PostgreSQL is unreachable', () => {
  it('when PostgreSQL answers, then reads and /readyz answer 200', async () => {
    expect((await api.get(`/api/v1/generations/${generationId}`)).status).toBe(200);
    expect((await api.get('/readyz')).status).toBe(200);
  });

  it('when PostgreSQL goes away, then reads and writes answer 503 database_unavailable with Retry-After, /readyz 503, subscribe acks database_unavailable', async () => {
    await proxy.refuse();
    for (const response of [
      await api.get(`/api/v1/generations/${generationId}`),
      await api.get('/api/v1/generations'),
      await api.get('/api/v1/characters'),
      await api.get('/api/v1/characters/kai'),
      await api.post('/api/v1/generations', { character: 'kai', prompt: 'during the outage' }),
    ]) {
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(response.body).toEqual({ error: { code: 'database_unavailable', message: expect.any(String) } });
    }
    const ready = await api.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('database_unavailable');
    expect(await subscribe()).toEqual({ ok: false, error: { code: 'database_unavailable', message: expect.any(String) } });
  });

  it('when PostgreSQL is back, then the same requests answer 200 again and subscribe acks ok', async () => {
    await proxy.accept();
    await waitFor(async () => (await api.get('/readyz')).status === 200, '/readyz to answer 200', 10_000);
    expect((await api.get(`/api/v1/generations/${generationId}`)).status).toBe(200);
    expect((await api.get('/api/v1/generations')).status).toBe(200);
    expect((await api.get('/api/v1/characters')).status).toBe(200);
    expect((await api.post('/api/v1/generations', { character: 'kai', prompt: 'after the outage' })).status).toBe(202);
    expect(await subscribe()).toEqual({ ok: true, status: 'queued' });
  });
});
