import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createDb, type Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { JobEventPublisher } from './job-events';
import { startOpsServer, type OpsServer } from './ops-server';
import { createPipelineQueues, type PipelineQueues } from './queues';
import { createRedis } from './redis';

export interface ServiceContext {
  db: Db;
  redis: Redis;
  queues: PipelineQueues;
  events: JobEventPublisher;
  queuePrefix: string;
  log: Logger;
}

export interface WorkerServiceOptions {
  service: string;
  opsPort: number;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  log: Logger;
  /** Builds the service's workers (created with autorun off) and anything they need. */
  build: (ctx: ServiceContext) => Promise<{ workers: Worker[]; stop?: () => Promise<void> }>;
  /** Re-enqueues, from PostgreSQL, work of this service's stage that Redis lost. Run at start and periodically. */
  recover?: (ctx: ServiceContext) => Promise<number>;
  recoverEveryMs?: number;
}

export interface RunningService {
  ops: OpsServer;
  ctx: ServiceContext;
  stop(): Promise<void>;
}

/**
 * The common life of a queue-driven service: wait for PostgreSQL and Redis (migrations are a step
 * of their own, `pnpm db:migrate`, run before any service starts), start the
 * ops server, run the workers, sweep for lost work; on stop, go unready, let in-flight jobs finish
 * (worker.close waits for them), then close everything.
 */
export async function startWorkerService(options: WorkerServiceOptions): Promise<RunningService> {
  const db = createDb(options.databaseUrl);
  await db.$queryRaw`SELECT 1`;
  const redis = createRedis(options.redisUrl, 'worker');
  await redis.ping();
  const queues = createPipelineQueues(redis, options.queuePrefix);
  const ctx: ServiceContext = { db, redis, queues, events: new JobEventPublisher(redis, options.queuePrefix), queuePrefix: options.queuePrefix, log: options.log };
  const ops = await startOpsServer({
    service: options.service,
    port: options.opsPort,
    checks: async () => {
      await db.$queryRaw`SELECT 1`;
      await redis.ping();
    },
  });
  const built = await options.build(ctx);
  for (const worker of built.workers) {
    void worker.run().catch((error) => options.log.error('worker stopped', { error: (error as Error).message }));
  }
  await Promise.all(built.workers.map((w) => w.waitUntilReady()));

  const sweep = async () => {
    if (!options.recover) return;
    try {
      const count = await options.recover(ctx);
      if (count) options.log.info('recovery sweep re-enqueued work', { count });
    } catch (error) {
      options.log.warn('recovery sweep failed', { error: (error as Error).message });
    }
  };
  await sweep();
  const timer = options.recover ? setInterval(sweep, options.recoverEveryMs ?? 30_000) : undefined;
  timer?.unref();
  ops.setReady(true);
  options.log.info('service ready', { service: options.service, opsPort: ops.port() });

  let stopped: Promise<void> | undefined;
  return {
    ops,
    ctx,
    stop: () =>
      (stopped ??= (async () => {
        ops.setReady(false);
        if (timer) clearInterval(timer);
        await Promise.all(built.workers.map((w) => w.close()));
        await built.stop?.();
        await queues.close();
        await redis.quit().catch(() => redis.disconnect());
        await db.$disconnect();
        await ops.close();
      })()),
  };
}
