import { generationEventsStream } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { startEventDispatcher, WEBHOOK_GROUP } from '../src/webhooks/event-dispatcher';

/**
 * Each gateway reads the generation-events stream as a consumer of its own (a new name at every
 * start): the consumers of gateways gone must not stay in the group for good, or the group grows
 * with every restart of a studio's gateways, for months.
 */
describe('webhooks: the consumers of gateways gone leave the consumer group', () => {
  let gateway: TestGateway;
  const redis = createRedis(TEST_REDIS_URL, 'worker');
  const log = createLogger('test', 'error');
  let stream: string;

  beforeAll(async () => {
    gateway = await startTestGateway('webhook-consumers');
    stream = generationEventsStream(gateway.queuePrefix);
  });
  afterAll(async () => {
    redis.disconnect();
    await gateway?.close();
  });

  const consumers = async () =>
    ((await redis.xinfo('CONSUMERS', stream, WEBHOOK_GROUP)) as unknown[][]).map((fields) => {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) info[String(fields[i])] = fields[i + 1];
      return { name: String(info.name), pending: Number(info.pending) };
    });
  // An event no webhook follows: read and acknowledged, nothing enqueued.
  const addEntry = () => redis.xadd(stream, '*', 'event', 'job:queued');
  const start = (forgetConsumerIdleMs?: number) =>
    startEventDispatcher({ db: gateway.db, redis: createRedis(TEST_REDIS_URL, 'subscriber'), queues: gateway.queues, queuePrefix: gateway.queuePrefix, log, forgetConsumerIdleMs });

  it('when gateways stop (a restart), then their consumers, once idle long enough and holding nothing, are removed by the next gateway; one holding an entry stays', async () => {
    // Three gateways in turn, each reading an entry (Redis makes a consumer at its first read) and stopping.
    for (let i = 0; i < 3; i++) {
      const before = (await consumers().catch(() => [])).length;
      const dispatcher = start();
      // The group is made at the stream's end ('$'): an entry added before it exists is not the group's to read.
      await waitFor(async () => ((await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[]).length > 0, 'the consumer group to exist', 10_000);
      await addEntry();
      await waitFor(async () => (await consumers()).length === before + 1 && (await consumers()).every((c) => c.pending === 0), 'the gateway to read and acknowledge the entry', 10_000);
      await dispatcher.stop();
    }
    const gone = (await consumers()).map((c) => c.name);
    expect(gone).toHaveLength(3);
    // A gateway that died holding an entry it read (not acknowledged): its entry is not lost by removing it.
    await addEntry();
    await redis.xreadgroup('GROUP', WEBHOOK_GROUP, 'died-holding-one', 'COUNT', 1, 'STREAMS', stream, '>');

    await new Promise((resolve) => setTimeout(resolve, 300));
    const next = start(250);
    try {
      await waitFor(async () => (await consumers()).every((c) => !gone.includes(c.name)), 'the consumers of the gateways gone to be removed', 10_000);
      expect((await consumers()).find((c) => c.name === 'died-holding-one')).toEqual({ name: 'died-holding-one', pending: 1 });
    } finally {
      await next.stop();
    }
  });
});
