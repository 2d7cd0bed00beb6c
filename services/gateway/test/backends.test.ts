import { backendChangesChannel } from '@anime/contracts';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('backends');
  api = gateway.client();
  // As the orchestrator records them (services/orchestrator/src/domain/backends/backend-store.ts).
  await gateway.db.backend.createMany({
    data: [
      { id: 'aaaaaaaaaaaa', url: 'http://127.0.0.1:8188', state: 'up', checkpoints: ['alpha.safetensors'], loras: ['style.safetensors'], ipAdapter: true, busy: true, inFlight: 1, queueDepth: 2, jobsDone: 7, lastSeenAt: new Date() },
      { id: 'bbbbbbbbbbbb', url: 'http://127.0.0.1:8189', state: 'down', lastError: 'connect ECONNREFUSED', jobsDone: 3 },
    ],
  });
});
afterAll(() => gateway?.close());

describe('GET /api/v1/backends', () => {
  it('when the orchestrator recorded backends, then they are listed with state, load, counters and models', async () => {
    const response = await api.get('/api/v1/backends');
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual([
      {
        id: 'aaaaaaaaaaaa', url: 'http://127.0.0.1:8188', state: 'up', busy: true, inFlight: 1, queueDepth: 2, jobsDone: 7, lastError: null,
        lastSeenAt: expect.any(String), drainedAt: null, checkpoints: ['alpha.safetensors'], loras: ['style.safetensors'], ipAdapter: true,
      },
      expect.objectContaining({ id: 'bbbbbbbbbbbb', state: 'down', lastError: 'connect ECONNREFUSED', lastSeenAt: null, checkpoints: [], loras: [], ipAdapter: false }),
    ]);
  });
});

describe('POST /api/v1/backends/:id/drain and /undrain', () => {
  it('when a backend is drained, then it shows draining and the flag the orchestrator reads is set; undrain clears it', async () => {
    const drained = await api.post('/api/v1/backends/aaaaaaaaaaaa/drain');
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ id: 'aaaaaaaaaaaa', state: 'draining', drainedAt: expect.any(String) });
    expect(await gateway.db.backend.findUniqueOrThrow({ where: { id: 'aaaaaaaaaaaa' } })).toMatchObject({ draining: true });
    expect((await api.get('/api/v1/backends')).body.items[0].state).toBe('draining');

    const undrained = await api.post('/api/v1/backends/aaaaaaaaaaaa/undrain');
    expect(undrained.status).toBe(200);
    expect(undrained.body).toMatchObject({ state: 'up', drainedAt: null });
  });

  it('when a backend is drained or undrained, then the orchestrators are told on the backend-changes channel, after the flag is written', async () => {
    const subscriber = createRedis(TEST_REDIS_URL, 'subscriber');
    const seen: { message: unknown; draining: boolean }[] = [];
    subscriber.on('message', (_channel, raw) => {
      void gateway.db.backend.findUniqueOrThrow({ where: { id: 'aaaaaaaaaaaa' } }).then((row) => seen.push({ message: JSON.parse(raw), draining: row.draining }));
    });
    await subscriber.subscribe(backendChangesChannel(gateway.queuePrefix));
    try {
      await api.post('/api/v1/backends/aaaaaaaaaaaa/drain');
      await waitFor(() => seen.length === 1, 'the drain notice');
      await api.post('/api/v1/backends/aaaaaaaaaaaa/undrain');
      await waitFor(() => seen.length === 2, 'the undrain notice');
      expect(seen).toEqual([
        { message: { type: 'backend-changed', backendId: 'aaaaaaaaaaaa' }, draining: true },
        { message: { type: 'backend-changed', backendId: 'aaaaaaaaaaaa' }, draining: false },
      ]);
      // An unknown backend changes nothing and tells nobody.
      await api.post('/api/v1/backends/nope/drain');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toHaveLength(2);
    } finally {
      subscriber.disconnect();
    }
  });

  it('when a draining backend is drained again, then it answers as the first drain did and keeps the first drainedAt', async () => {
    const first = await api.post('/api/v1/backends/aaaaaaaaaaaa/drain');
    expect(first.status).toBe(200);
    const drainedAt = first.body.drainedAt as string;
    expect(drainedAt).toEqual(expect.any(String));
    // Past the millisecond the first drain wrote, so a rewritten time would show.
    await new Promise((resolve) => setTimeout(resolve, 20));
    try {
      const again = await api.post('/api/v1/backends/aaaaaaaaaaaa/drain');
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ ...first.body, lastSeenAt: expect.any(String), drainedAt });
      expect((await gateway.db.backend.findUniqueOrThrow({ where: { id: 'aaaaaaaaaaaa' } })).drainedAt?.toISOString()).toBe(drainedAt);
      expect((await api.get('/api/v1/backends')).body.items[0]).toMatchObject({ state: 'draining', drainedAt });
    } finally {
      await api.post('/api/v1/backends/aaaaaaaaaaaa/undrain');
    }
    // Undrained, a new drain is a new one: its time is its own.
    const later = await api.post('/api/v1/backends/aaaaaaaaaaaa/drain');
    expect(Date.parse(later.body.drainedAt)).toBeGreaterThan(Date.parse(drainedAt));
    await api.post('/api/v1/backends/aaaaaaaaaaaa/undrain');
  });

  it('when a down backend is drained, then it still shows down (it answers nothing either way)', async () => {
    expect((await api.post('/api/v1/backends/bbbbbbbbbbbb/drain')).body.state).toBe('down');
    await api.post('/api/v1/backends/bbbbbbbbbbbb/undrain');
  });

  it('when the id is unknown, then 404 backend_not_found', async () => {
    for (const action of ['drain', 'undrain']) {
      const response = await api.post(`/api/v1/backends/nope/${action}`);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('backend_not_found');
    }
  });
});
