import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { PIPELINE_CATALOG, QUEUE_KEYS, type ConsumerService, type QueueKey, type QueuesOf, type StageQueueKey } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { bounded } from './bounded';
import { closeWorkers } from './close-workers';
import { JobEventPublisher } from './job-events';
import { startOpsServer, type OpsServer } from './ops-server';
import { watchQueueDepths } from './metrics/queue-depth';
import type { ReadinessChecks } from './readiness';
import { createPipelineQueues, queueSettingsFrom, type PipelineQueues, type QueueSettings } from './queues';
import { sweepStage } from './recovery';
import { createRedis } from './redis';
import { checkRedisAtStart } from './redis-start-check';
import { waitForDatabaseAtStart } from './database-start-wait';
import { createStageWorker, type StageHandler } from './stage-worker';
import { setConcurrency } from './worker-concurrency';

export interface ServiceContext {
  db: Db;
  redis: Redis;
  queues: PipelineQueues;
  events: JobEventPublisher;
  queuePrefix: string;
  log: Logger;
}

/** A handler for every queue the service consumes: a missing one does not compile. */
export type StageHandlers<S extends ConsumerService> = { [K in QueuesOf<S>]: StageHandler<K> };

export interface WorkerServiceOptions<S extends ConsumerService> {
  service: S;
  opsPort: number;
  /** OPS_HOST: where the ops server listens (default 127.0.0.1). */
  opsHost?: string;
  databaseUrl: string;
  /** DATABASE_QUERY_TIMEOUT_MS: how long a statement may go unanswered (default: createDb's). */
  databaseQueryTimeoutMs?: number;
  redisUrl: string;
  queuePrefix: string;
  queueSettings?: QueueSettings;
  /** GENERATION_EVENTS_MAXLEN: about how many entries the generation-events stream keeps. */
  eventsStreamMaxLength?: number;
  log: Logger;
  /** Builds the service's stage handlers and anything they need. */
  build: (ctx: ServiceContext) => Promise<{ handlers: StageHandlers<S>; concurrency?: Partial<Record<QueuesOf<S>, number | DynamicConcurrency>>; stop?: () => Promise<void> }>;
  /** How often work of this service's stages that Redis lost is swept back from PostgreSQL. */
  recoverEveryMs?: number;
  /** How long a stop waits for jobs in flight before leaving them to a restarted worker (default 2 s). */
  closeGraceMs?: number;
  /** How long a stage job put back while PostgreSQL is away waits before it runs again (default 5 s; tests shorten it). */
  databaseRetryDelayMs?: number;
  /** Checks of the service's own besides `database` and `redis` for `/readyz`, by dependency name (e.g. `comfyui`); each throws when not ready. */
  readiness?: ReadinessChecks;
}

/**
 * A worker's concurrency that follows the service's own state (the orchestrator: the room its
 * usable backends have), so the worker takes from the queue no more jobs than it can place now.
 */
export interface DynamicConcurrency {
  current(): number;
  /** Calls `changed` whenever current() may answer something new; returns the unsubscribe. */
  subscribe(changed: () => void): () => void;
}

export interface RunningService {
  ops: OpsServer;
  ctx: ServiceContext;
  stop(): Promise<void>;
}

/** The shared variables every worker service reads (see packages/config sharedEnv). */
export interface SharedServiceConfig {
  DATABASE_URL: string;
  DATABASE_QUERY_TIMEOUT_MS?: number;
  REDIS_URL: string;
  QUEUE_PREFIX: string;
  JOB_MAX_ATTEMPTS: number;
  QUEUE_KEEP_COMPLETED_S?: number;
  QUEUE_KEEP_FAILED_S?: number;
  RECOVERY_SWEEP_MS: number;
  GENERATION_EVENTS_MAXLEN: number;
  OPS_HOST: string;
}

/** The options a worker service takes from the shared configuration. */
export function sharedServiceOptions(config: SharedServiceConfig) {
  return {
    databaseUrl: config.DATABASE_URL,
    databaseQueryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
    redisUrl: config.REDIS_URL,
    queuePrefix: config.QUEUE_PREFIX,
    queueSettings: queueSettingsFrom(config),
    recoverEveryMs: config.RECOVERY_SWEEP_MS,
    eventsStreamMaxLength: config.GENERATION_EVENTS_MAXLEN,
    opsHost: config.OPS_HOST,
  };
}

/** The variable choosing each service's ops port, named when it cannot be listened on. */
const OPS_PORT_VARIABLES: Record<ConsumerService, string> = {
  character: 'CHARACTER_PORT',
  orchestrator: 'ORCHESTRATOR_PORT',
  'file-organizer': 'FILE_ORGANIZER_PORT',
  gateway: 'PORT',
};

/** The queues of the catalog a service consumes. */
export const consumedQueues = (service: ConsumerService): QueueKey[] => QUEUE_KEYS.filter((key) => PIPELINE_CATALOG[key].consumer === service);

/**
 * The common life of a queue-driven service: start the ops server (a port or OPS_HOST it cannot
 * listen on stops it naming the variable), wait for PostgreSQL and Redis (migrations are a step
 * of their own, `pnpm db:migrate`, run before any service starts; a login or database index Redis
 * refuses, or a login or database PostgreSQL refuses, stops the start), run a worker per consumed queue, sweep for lost work;
 * on stop, go unready, give in-flight jobs a short grace (a render left running is resumed after a
 * restart), then close everything, each step bounded so a dependency that is down cannot hold the
 * process.
 */
export async function startWorkerService<S extends ConsumerService>(options: WorkerServiceOptions<S>): Promise<RunningService> {
  const db = createDb(options.databaseUrl, { queryTimeoutMs: options.databaseQueryTimeoutMs });
  const redis = createRedis(options.redisUrl, 'worker', options.log);
  // A refused start must not leave connections retrying in a process (a test's) that goes on.
  const closeConnections = async () => {
    redis.disconnect();
    await bounded(db.$disconnect(), 2_000);
  };
  let ops: OpsServer;
  try {
    // Listening first: while PostgreSQL or Redis is waited for, /healthz answers (a liveness probe
    // does not kill a pod that waits) and /readyz says 503.
    ops = await startOpsServer({
      service: options.service,
      port: options.opsPort,
      host: options.opsHost,
      portVariable: OPS_PORT_VARIABLES[options.service],
      checks: {
        database: async () => {
          await db.$queryRaw`SELECT 1`;
        },
        redis: async () => {
          await redis.ping();
        },
        ...options.readiness,
      },
      log: options.log,
    });
  } catch (error) {
    await closeConnections();
    throw error;
  }
  try {
    await waitForDatabaseAtStart(db, options.log);
    await checkRedisAtStart(redis);
  } catch (error) {
    await closeConnections();
    await ops.close();
    throw error;
  }
  const queues = createPipelineQueues(redis, options.queuePrefix, options.queueSettings, options.log);
  const ctx: ServiceContext = { db, redis, queues, events: new JobEventPublisher(redis, options.queuePrefix, options.eventsStreamMaxLength), queuePrefix: options.queuePrefix, log: options.log };
  // Each step bounded: Redis or PostgreSQL being down must not hold the exit.
  const unwatchQueues = watchQueueDepths(queues);
  const closeAll = async () => {
    unwatchQueues();
    await bounded(queues.close(), 2_000);
    await bounded(redis.quit(), 1_000);
    redis.disconnect();
    await bounded(db.$disconnect(), 2_000);
    await ops.close();
  };
  const consumed = consumedQueues(options.service);
  let built: Awaited<ReturnType<WorkerServiceOptions<S>['build']>>;
  try {
    built = await options.build(ctx);
    const given = built.handlers as Record<string, unknown>;
    const missing = consumed.filter((key) => !given[key]);
    if (missing.length) throw new Error(`${options.service} consumes ${missing.map((k) => PIPELINE_CATALOG[k].name).join(', ')} but has no handler for it`);
  } catch (error) {
    await closeAll();
    throw error;
  }
  const handlers = built.handlers as Record<string, StageHandler<StageQueueKey>>;
  const deps = { db, queues, events: ctx.events, connection: redis, prefix: options.queuePrefix, log: options.log, queueSettings: options.queueSettings, databaseRetryDelayMs: options.databaseRetryDelayMs };
  const concurrency = (built.concurrency ?? {}) as Partial<Record<QueueKey, number | DynamicConcurrency>>;
  const unfollow: (() => void)[] = [];
  const workers: Worker[] = consumed.map((key) => {
    const given = concurrency[key];
    if (typeof given !== 'object') return createStageWorker(key as StageQueueKey, handlers[key], deps, { concurrency: given });
    const worker = createStageWorker(key as StageQueueKey, handlers[key], deps, { concurrency: Math.max(1, given.current()) });
    // A lower value takes no new job until enough have finished; a higher one takes the next at once.
    unfollow.push(given.subscribe(() => setConcurrency(worker, Math.max(1, given.current()))));
    return worker;
  });
  for (const worker of workers) {
    void worker.run().catch((error) => options.log.error('worker stopped', { error: (error as Error).message }));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  const sweep = async () => {
    try {
      let count = 0;
      for (const key of consumed) count += await sweepStage(db, queues, key);
      if (count) options.log.info('recovery sweep re-enqueued work', { count });
    } catch (error) {
      options.log.warn('recovery sweep failed', { error: (error as Error).message });
    }
  };
  await sweep();
  const timer = setInterval(sweep, options.recoverEveryMs ?? 30_000);
  timer.unref();
  ops.setReady(true);
  options.log.info('service ready', { service: options.service, opsHost: ops.host(), opsPort: ops.port() });

  let stopped: Promise<void> | undefined;
  return {
    ops,
    ctx,
    stop: () =>
      (stopped ??= (async () => {
        ops.setReady(false);
        clearInterval(timer);
        for (const stop of unfollow) stop();
        await closeWorkers(workers, options.closeGraceMs ?? 2_000, options.log);
        await bounded(built.stop?.() ?? Promise.resolve(), 2_000);
        await closeAll();
      })()),
  };
}
