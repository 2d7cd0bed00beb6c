import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { WEBHOOK_LOG_RETENTION_DEFAULT_DAYS, type WebhookAllowList } from '@anime/config';
import { PIPELINE_CATALOG } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { bounded, closeWorkers, WORKER_LOCKS, type PipelineQueues } from '@anime/pipeline';
import { deliveryProcessor, webhookBackoff } from './delivery-processor';
import { startEventDispatcher } from './event-dispatcher';
import type { Resolve } from './pinned-lookup';
import type { RetrySchedule } from './retry-schedule';
import { pruneWebhookLog } from './webhook-log-retention';
import { webhookSweep } from './webhook-outbox';

/** How long tries in flight may finish when the gateway stops, before they are cut and handed back. */
const CLOSE_GRACE_MS = 2_000;

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
  /** DEFAULT_RETRY_SCHEDULE unless given (tests use short delays). */
  retrySchedule?: RetrySchedule;
  /** The recovery sweep: every RECOVERY_SWEEP_MS (30 s unless given), on work older than `graceMs` (RECOVERY_GRACE_MS). */
  recovery?: { everyMs?: number; graceMs?: number };
  /** Days delivery attempts and finished messages are kept (WEBHOOK_LOG_RETENTION_DAYS); each sweep deletes older ones. */
  logRetentionDays?: number;
}

/**
 * The gateway's webhook machinery: the stream dispatcher, the webhook-deliveries worker, and the
 * recovery sweep that hands on from PostgreSQL what Redis lost (webhook-outbox.ts) and deletes what
 * is past the retention (webhook-log-retention.ts).
 */
export async function startWebhookDelivery(deps: WebhookDeliveryDeps): Promise<{ stop(): Promise<void> }> {
  const entry = PIPELINE_CATALOG.webhookDeliveries;
  const worker = new Worker(entry.name, deliveryProcessor({ db: deps.db, allow: deps.allow, log: deps.log, resolve: deps.resolve, retrySchedule: deps.retrySchedule }), {
    connection: deps.connection,
    prefix: deps.queuePrefix,
    concurrency: deps.concurrency ?? 8,
    settings: { backoffStrategy: webhookBackoff },
    // A gateway killed mid-try: its job is made again by another gateway (or the restarted one) within ~15 s.
    ...WORKER_LOCKS,
  });
  worker.on('error', (error) => deps.log.warn('webhook worker error', { error: error.message }));
  await worker.waitUntilReady();
  const dispatcher = startEventDispatcher({ db: deps.db, redis: deps.streamReader, queues: deps.queues, queuePrefix: deps.queuePrefix, log: deps.log });
  // One pass at a time: one still running when the timer fires again is not doubled.
  let sweeping: Promise<unknown> | null = null;
  const sweep = () => {
    sweeping ??= (async () => {
      // Each part apart: pruning needs only PostgreSQL, and goes on while Redis is away.
      await webhookSweep({ db: deps.db, queues: deps.queues, log: deps.log }, deps.recovery?.graceMs)
        .catch((error) => deps.log.warn('webhooks: recovery sweep failed', { error: (error as Error).message }));
      await pruneWebhookLog({ db: deps.db, log: deps.log }, deps.logRetentionDays ?? WEBHOOK_LOG_RETENTION_DEFAULT_DAYS)
        .catch((error) => deps.log.warn('webhooks: pruning past the retention failed', { error: (error as Error).message }));
    })().finally(() => (sweeping = null));
  };
  sweep();
  const timer = setInterval(sweep, deps.recovery?.everyMs ?? 30_000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await bounded(sweeping ?? Promise.resolve(), 5_000);
      await dispatcher.stop();
      // Tries in flight get 2 s; one still waiting for its receiver then is cut short, recorded and
      // handed back to the queue (tried again at once), not left active for the stall check (~1 min).
      await bounded(closeWorkers([worker], CLOSE_GRACE_MS, deps.log), 5_000);
    },
  };
}
