import { generationEventsStream } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { startEventDispatcher, WEBHOOK_GROUP } from '../src/webhooks/event-dispatcher';
import { newWebhookSecret } from '../src/webhooks/sign-webhook';

/**
 * Other systems share the Redis that holds the generation-events stream (they read it; nothing stops
 * one writing to it). An entry the dispatcher cannot record must be skipped like any unreadable one,
 * not fail the whole read it came in: else it is never acknowledged, every XAUTOCLAIM takes it again
 * and fails, and the events read with it wait for the recovery sweep.
 */
describe('webhooks: a hostile generation-events entry does not hold up the dispatcher', () => {
  let gateway: TestGateway;
  const redis = createRedis(TEST_REDIS_URL, 'worker');
  const log = createLogger('test', 'error');

  beforeAll(async () => {
    gateway = await startTestGateway('webhook-hostile-entry');
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  });
  afterAll(async () => {
    redis.disconnect();
    await gateway?.close();
  });

  it('when a terminal entry with a seq no generation can have comes in the same read as a real one, then it is skipped and acknowledged and the real event is dispatched at once', async () => {
    const endpoint = await gateway.db.webhookEndpoint.create({ data: { url: 'http://127.0.0.1:9/never', events: ['generation.canceled'], secret: newWebhookSecret() } });
    const api = gateway.client();
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt: 'x' });
    expect((await api.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);
    const canceled = await gateway.db.jobEvent.findFirstOrThrow({ where: { jobId: created.body.id, type: 'job:canceled' } });

    // The group made first, so both entries below are the dispatcher's to read, in one read.
    const stream = generationEventsStream(gateway.queuePrefix);
    await redis.xgroup('CREATE', stream, WEBHOOK_GROUP, '$', 'MKSTREAM');
    const fields = (generationId: string, seq: string) => ['event', 'job:canceled', 'generationId', generationId, 'seq', seq, 'source', 'other', 'requestId', '', 'data', '{}'];
    await redis.xadd(stream, '*', ...fields('11111111-1111-4111-8111-111111111111', '3000000000'));
    await redis.xadd(stream, '*', ...fields(created.body.id, String(canceled.seq)));

    const dispatcher = startEventDispatcher({ db: gateway.db, redis: createRedis(TEST_REDIS_URL, 'subscriber'), queues: gateway.queues, queuePrefix: gateway.queuePrefix, log });
    try {
      // Well within the recovery sweep's 10 s grace: the stream, not the sweep, dispatched it.
      await waitFor(() => gateway.db.webhookMessage.findFirst({ where: { endpointId: endpoint.id, generationId: created.body.id } }), 'the real event to be dispatched', 5_000);
      await waitFor(async () => ((await redis.xpending(stream, WEBHOOK_GROUP)) as [number])[0] === 0, 'every entry read to be acknowledged', 5_000);
    } finally {
      await dispatcher.stop();
    }
  });
});
