import type { Redis } from 'ioredis';
import { createLogger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL } from '@anime/testing';
import { startWebhookDelivery, type WebhookDeliveryDeps } from '../src/webhooks/start-webhook-delivery';
import type { TestGateway } from './start-test-gateway';

/**
 * The webhook machinery wired to a test gateway's database and queues, with its own stream reader
 * (closed on stop); `settings` give the allow-list and whatever the test shortens.
 */
export function startTestWebhookDelivery(
  gateway: TestGateway,
  connection: Redis,
  settings: Omit<WebhookDeliveryDeps, 'db' | 'connection' | 'streamReader' | 'queues' | 'queuePrefix' | 'log'> & Partial<Pick<WebhookDeliveryDeps, 'log'>>,
) {
  return startWebhookDelivery({
    db: gateway.db,
    connection,
    streamReader: createRedis(TEST_REDIS_URL, 'subscriber'),
    queues: gateway.queues,
    queuePrefix: gateway.queuePrefix,
    log: createLogger('test', 'error'),
    ...settings,
  });
}
