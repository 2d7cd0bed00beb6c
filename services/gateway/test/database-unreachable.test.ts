import { waitFor } from '@anime/testing';
import { startGatewayBehindDatabaseProxy, type GatewayBehindDatabaseProxy } from './gateway-behind-database-proxy';

let fixture: GatewayBehindDatabaseProxy;

beforeAll(async () => {
  fixture = await startGatewayBehindDatabaseProxy('db-unreachable');
});
afterAll(() => fixture?.close());

const subscribe = () => fixture.socket.timeout(10_000).emitWithAck('subscribe', { jobId: fixture.generationId });

describe('the gateway while PostgreSQL is unreachable', () => {
  it('when PostgreSQL answers, then reads and /readyz answer 200', async () => {
    const { api, generationId } = fixture;
    expect((await api.get(`/api/v1/generations/${generationId}`)).status).toBe(200);
    expect((await api.get('/readyz')).status).toBe(200);
  });

  it('when PostgreSQL goes away, then reads and writes answer 503 database_unavailable with Retry-After, /readyz 503, subscribe acks database_unavailable', async () => {
    const { api, proxy, generationId } = fixture;
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
    const { api, proxy, generationId } = fixture;
    await proxy.accept();
    await waitFor(async () => (await api.get('/readyz')).status === 200, '/readyz to answer 200', 10_000);
    expect((await api.get(`/api/v1/generations/${generationId}`)).status).toBe(200);
    expect((await api.get('/api/v1/generations')).status).toBe(200);
    expect((await api.get('/api/v1/characters')).status).toBe(200);
    expect((await api.post('/api/v1/generations', { character: 'kai', prompt: 'after the outage' })).status).toBe(202);
    expect(await subscribe()).toEqual({ ok: true, status: 'queued' });
  });
});
