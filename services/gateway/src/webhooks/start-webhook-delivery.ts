import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WebhookAllowList } from '@anime/config';
import { PIPELINE_CATALOG } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { bounded, type PipelineQueues } from '@anime/pipeline';
import { deliveryProcessor } from './delivery-processor';
import { startEventDispatcher } from './event-dispatcher';
import type { Resolve } from './pinned-lookup';

export interface WebhookDeliveryDeps {
  db: Db;
  /** A BullMQ connection (maxRetriesPerRequest null). */
  connection: Redis;
  /** A connection the dispatcher may block on; it is closed on stop. */
  streamReader: Redis;
  queues: PipelineQueues;
  queuePrefix: string;
  allow: WebhookAllowList;
  log: Logger;
  concurrency?: number;
  resolve?: Resolve;
}

/** The gateway's webhook machinery: the stream dispatcher and the webhook-deliveries worker. */
export async function startWebhookDelivery(deps: WebhookDeliveryDeps): Promise<{ stop(): Promise<void> }> {
  const entry = PIPELINE_CATALOG.webhookDeliveries;
  const worker = new Worker(entry.name, deliveryProcessor({ db: deps.db, allow: deps.allow, log: deps.log, resolve: deps.resolve }), {
    connection: deps.connection,
    prefix: deps.queuePrefix,
    concurrency: deps.concurrency ?? 8,
  });
  worker.on('error', (error) => deps.log.warn('webhook worker error', { error: error.message }));
  await worker.waitUntilReady();
  const dispatcher = startEventDispatcher({ db: deps.db, redis: deps.streamReader, queues: deps.queues, queuePrefix: deps.queuePrefix, log: deps.log });
  return {
    stop: async () => {
      await dispatcher.stop();
      await bounded(worker.close(), 5_000);
    },
  };
}
