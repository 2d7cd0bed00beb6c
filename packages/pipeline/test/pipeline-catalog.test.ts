import { PIPELINE_CATALOG, QUEUE_KEYS, queueForStage, JOB_STAGES } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { consumedQueues, startWorkerService } from '../src/worker-service';

describe('pipeline catalog', () => {
  it('when the catalog is read, then every queue has one consumer, a distinct name, and every unfinished stage belongs to exactly one queue', () => {
    expect(new Set(QUEUE_KEYS.map((k) => PIPELINE_CATALOG[k].name)).size).toBe(QUEUE_KEYS.length);
    const consumed = (['character', 'orchestrator', 'file-organizer', 'gateway'] as const).flatMap((s) => consumedQueues(s));
    expect(consumed.sort()).toEqual([...QUEUE_KEYS].sort());
    for (const stage of JOB_STAGES) {
      const owners = QUEUE_KEYS.filter((k) => (PIPELINE_CATALOG[k].stages as readonly string[]).includes(stage));
      expect(owners).toHaveLength(stage === 'filed' ? 0 : 1);
      expect(queueForStage(stage)).toBe(owners[0] ?? null);
    }
  });

  it('when a message is handed off, then its job id follows the queue rule, so adding it twice is a no-op', () => {
    const ref = { schemaVersion: 1 as const, generationId: '5b0c8c3e-8a43-4a55-9a3c-0d5c2d3b9e11' };
    const stageQueues = QUEUE_KEYS.filter((k) => k !== 'webhookDeliveries');
    expect(stageQueues.map((k) => PIPELINE_CATALOG[k].jobId(ref as never))).toEqual([`request-${ref.generationId}`, `render-${ref.generationId}`, `filing-${ref.generationId}`]);
    const delivery = { schemaVersion: 1 as const, endpointId: ref.generationId.replace('5b0c', '6c1d'), generationId: ref.generationId, eventType: 'generation.completed' as const, seq: 7 };
    expect(PIPELINE_CATALOG.webhookDeliveries.jobId(delivery)).toBe(`webhook-${delivery.endpointId}-${ref.generationId}-7`);
  });

  describe('a service started without a handler for a queue it consumes', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase('catalog');
    });
    afterAll(async () => {
      await database.drop();
    });

    it('when it starts, then it fails naming the queue', async () => {
      const start = startWorkerService({
        service: 'orchestrator',
        opsPort: 0,
        databaseUrl: database.url,
        redisUrl: TEST_REDIS_URL,
        queuePrefix: uniqueQueuePrefix('catalog'),
        log: createLogger('test', 'error'),
        // A missing handler does not compile; a cast stands in for a config-driven mistake.
        build: async () => ({ handlers: {} as never }),
      });
      await expect(start).rejects.toThrow('orchestrator consumes generation-renders but has no handler for it');
    });
  });
});
