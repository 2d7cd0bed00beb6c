import type { GatewayConfig } from '@anime/config';
import { createDb } from '@anime/db';
import type { Logger } from '@anime/logger';
import { sweepStalePartialsInBackground, type StalePartialSweepOptions } from '@anime/media';
import { bounded, checkRedisAtStart, createPipelineQueues, createRedis, JobControlPublisher, JobEventPublisher, prepareLibraryDir, queueSettingsFrom, reportRedisErrors, waitForDatabaseAtStart } from '@anime/pipeline';
import { createGateway } from './app';
import { removeStaleBundleWorkspaces } from './domain/bundle/bundle-workspace';
import type { EdgeSettings } from './http/edge/edge-settings';
import { createSocketAdapter } from './socket/redis-adapter';
import { createLimiterRedis } from './http/limits/limiter-redis';
import { listenHost } from './http/listen-host';
import { listenWhileStarting } from './http/starting-server';
import { DEFAULT_RETRY_SCHEDULE } from './webhooks/retry-schedule';
import { startWebhookDelivery } from './webhooks/start-webhook-delivery';

export interface RunningGateway {
  port: number;
  stop(): Promise<void>;
}

/**
 * The gateway: REST API and Socket.IO relay on `PORT`. It listens first (a port it cannot listen on
 * stops it naming PORT): while PostgreSQL and Redis are waited for, `/healthz` answers 200 (a
 * liveness probe does not kill a pod that waits), `/readyz` 503 naming the one waited for, any
 * other request 503 (starting-server.ts); a login or database PostgreSQL refuses, or a login or
 * database index Redis refuses, stops the start. Then the gateway itself answers on that server:
 * the port is never closed, and no connection is cut by the switch.
 */
export async function startGateway(config: GatewayConfig, log: Logger, host?: string, options: { partialSweep?: StalePartialSweepOptions } = {}): Promise<RunningGateway> {
  await prepareLibraryDir(config.LIBRARY_DIR);
  log.info('stale bundle import workspaces removed', { count: await removeStaleBundleWorkspaces(config.LIBRARY_DIR) });
  // One server from the start on, with the gateway's settings in both phases.
  const edge: EdgeSettings = {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEPALIVE_TIMEOUT_MS,
    uploadTimeoutMs: config.HTTP_UPLOAD_TIMEOUT_MS,
    corsOrigins: config.CORS_ORIGINS,
    allowedHosts: config.ALLOWED_HOSTS,
  };
  const starting = await listenWhileStarting({ port: config.PORT, host: listenHost(config.AUTH_MODE, host) }, edge);
  log.info('gateway listening while it starts', { port: starting.port });
  const db = createDb(config.DATABASE_URL, { queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS });
  const redis = createRedis(config.REDIS_URL, 'worker', log);
  try {
    starting.waitingFor('database');
    await waitForDatabaseAtStart(db, log);
    starting.waitingFor('redis');
    await checkRedisAtStart(redis);
    starting.waitingFor(null);
  } catch (error) {
    // A refused start must not leave connections retrying, nor the port held, in a process that goes on.
    redis.disconnect();
    await bounded(db.$disconnect(), 2_000);
    await starting.close();
    throw error;
  }
  const subscriber = createRedis(config.REDIS_URL, 'subscriber', log);
  const limiterRedis = reportRedisErrors(createLimiterRedis(config.REDIS_URL), log, 'redis rate limiter');
  const queues = createPipelineQueues(redis, config.QUEUE_PREFIX, queueSettingsFrom(config), log);
  const socketAdapter = createSocketAdapter(config.REDIS_URL, config.QUEUE_PREFIX, log);
  const gateway = await createGateway({
    db,
    queues,
    events: new JobEventPublisher(redis, config.QUEUE_PREFIX, config.GENERATION_EVENTS_MAXLEN),
    control: new JobControlPublisher(redis, config.QUEUE_PREFIX),
    subscriber,
    queuePrefix: config.QUEUE_PREFIX,
    libraryDir: config.LIBRARY_DIR,
    referenceMaxBytes: config.REFERENCE_MAX_BYTES,
    bundleMaxBytes: config.BUNDLE_MAX_BYTES,
    bundleMaxUncompressedBytes: config.BUNDLE_MAX_UNCOMPRESSED_BYTES,
    limiterRedis,
    limits: config,
    authMode: config.AUTH_MODE,
    webhookAllow: config.WEBHOOK_ALLOW,
    socketMaxSubscriptions: config.SOCKET_MAX_SUBSCRIPTIONS,
    socketMaxConnectionsPerKey: config.SOCKET_MAX_CONNECTIONS_PER_KEY,
    importConcurrency: config.IMPORT_CONCURRENCY,
    referenceMaxPixels: config.REFERENCE_MAX_PIXELS,
    socketAdapter: socketAdapter.adapter,
    log,
    readiness: {
      database: async () => {
        await db.$queryRaw`SELECT 1`;
      },
      redis: async () => {
        await redis.ping();
      },
    },
    edge,
    server: starting,
  });
  const webhooks = await startWebhookDelivery({
    db,
    connection: redis,
    streamReader: createRedis(config.REDIS_URL, 'subscriber', log),
    queues,
    queuePrefix: config.QUEUE_PREFIX,
    allow: config.WEBHOOK_ALLOW,
    retrySchedule: config.WEBHOOK_RETRY_DELAYS ? { ...DEFAULT_RETRY_SCHEDULE, delaysMs: config.WEBHOOK_RETRY_DELAYS } : DEFAULT_RETRY_SCHEDULE,
    recovery: { everyMs: config.RECOVERY_SWEEP_MS },
    logRetentionDays: config.WEBHOOK_LOG_RETENTION_DAYS,
    log,
  });
  // The server handed over: the answers given while starting stop, the gateway's own begin.
  const port = gateway.takeOver();
  log.info('gateway listening', { port });
  // Once it answers (a walk of a library of millions of files must not hold the start), then hourly.
  const partials = sweepStalePartialsInBackground(config.LIBRARY_DIR, log, options.partialSweep);
  let stopped: Promise<void> | undefined;
  return {
    port,
    stop: () =>
      (stopped ??= (async () => {
        // Each step bounded: Redis or PostgreSQL being down must not hold the exit.
        await Promise.all([partials.stop(), gateway.close()]);
        await webhooks.stop();
        await bounded(queues.close(), 2_000);
        subscriber.disconnect();
        socketAdapter.close();
        limiterRedis.disconnect();
        await bounded(redis.quit(), 1_000);
        redis.disconnect();
        await bounded(db.$disconnect(), 2_000);
      })()),
  };
}
