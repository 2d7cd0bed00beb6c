import { createLogger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';
import { startTcpProxy, TEST_REDIS_URL, type TcpProxy } from '@anime/testing';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { startEventDispatcher } from '../src/webhooks/event-dispatcher';

/**
 * A gateway stopped (SIGTERM: a restart) while Redis does not answer: the dispatcher's stream read,
 * issued while its connection reconnects, is never settled by ioredis's disconnect(), so a stop that
 * waited for the read loop never ended. The gateway's stop waited for it until installShutdown's
 * 20 s deadline, its port closed all that while (clients refused, no new gateway able to listen).
 */
describe('webhooks: the dispatcher stopped while Redis is unreachable', () => {
  let gateway: TestGateway;
  let proxy: TcpProxy;

  beforeAll(async () => {
    gateway = await startTestGateway('webhook-dispatcher-stop');
    const redisUrl = new URL(TEST_REDIS_URL);
    proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  });
  afterAll(async () => {
    await proxy?.close();
    await gateway?.close();
  });

  it('then the stop ends within a few seconds, not when Redis is back', async () => {
    const dispatcher = startEventDispatcher({
      db: gateway.db,
      redis: createRedis(proxy.urlFor(TEST_REDIS_URL), 'subscriber'),
      queues: gateway.queues,
      queuePrefix: gateway.queuePrefix,
      log: createLogger('test', 'error'),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await proxy.refuse();
    // Long enough for the blocked read to be cut and the connection to be reconnecting.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      dispatcher.stop().then(() => 'stopped'),
      new Promise((resolve) => (timer = setTimeout(() => resolve('still stopping after 10 s'), 10_000))),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(4_000);
  }, 30_000);
});
