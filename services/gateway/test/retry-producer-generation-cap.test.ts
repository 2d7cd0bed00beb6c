import { jsonClient } from './http-client';
import { failedProducerGeneration, startProducerRetryGateway } from './producer-retry-gateway';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A generation a queue producer made (no key, its own source) counts in no caller's share of the
// queue: its retry is not capped by MAX_QUEUED_PER_KEY (JobLifecycle.retryWithinCap retries it as it
// is), so the route's early check must not refuse it for the share of whoever asks. AUTH_MODE=off:
// every API caller is the one local caller, whose share is the keyless generations made over the API.
// No orchestrator runs: every generation accepted stays queued.
const limits = { MAX_QUEUED_PER_KEY: 1, MAX_QUEUE_DEPTH: 100, RATE_LIMIT_RPS: 1_000_000 };

let gw: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  ({ gw, api } = await startProducerRetryGateway('r34aretryproducer', limits));
});
afterAll(async () => {
  await gw?.close();
});

describe('retrying a queue producer’s generation while the local caller is at its cap', () => {
  it('when the local caller has MAX_QUEUED_PER_KEY queued and retries a failed generation of a producer, then it is retried (202), not 429 for the caller’s share', async () => {
    const farmGeneration = await failedProducerGeneration(gw, api);
    // The local caller at its cap.
    expect((await api.post('/api/v1/generations', { character: 'kai', prompt: 'mine' })).status).toBe(202);
    expect((await api.post('/api/v1/generations', { character: 'kai', prompt: 'over' })).status).toBe(429);

    const retried = await api.post(`/api/v1/generations/${farmGeneration}/retry`);
    // Before: 429 queue_full (scope key), the local caller's share counted for another's generation.
    expect(retried.status).toBe(202);
    expect((await gw.db.generationJob.findUniqueOrThrow({ where: { id: farmGeneration } })).status).toBe('queued');
  }, 60_000);

  it('when the queue itself is full, then the retry of a producer’s generation is still 429 queue_full (scope global)', async () => {
    const made = await gw.db.generationJob.findFirstOrThrow({ where: { source: 'render-farm' } });
    await gw.db.generationJob.update({ where: { id: made.id }, data: { status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
    const full = await startTestGateway('r34aretryproducerfull', { authMode: 'off', database: gw.database, queuePrefix: gw.queuePrefix, limits: { ...limits, MAX_QUEUE_DEPTH: 1 } });
    try {
      const refused = await jsonClient(full.baseUrl).post(`/api/v1/generations/${made.id}/retry`);
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({ code: 'queue_full', details: { scope: 'global' } });
      expect((await gw.db.generationJob.findUniqueOrThrow({ where: { id: made.id } })).status).toBe('failed');
    } finally {
      await full.close();
    }
  }, 60_000);
});
