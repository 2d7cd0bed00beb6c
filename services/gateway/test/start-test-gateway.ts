import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mintKey, type NewApiKey } from '@anime/api-keys';
import { createDb, type Db } from '@anime/db';
import { createLogger, type Logger } from '@anime/logger';
import { createPipelineQueues, createRedis, JobControlPublisher, JobEventPublisher, type PipelineQueues } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { createGateway, type Gateway, type GatewayDeps } from '../src/app';
import { createSocketAdapter } from '../src/socket/redis-adapter';
import { createLimiterRedis } from '../src/http/limits/limiter-redis';
import { jsonClient } from './http-client';

export interface TestGateway {
  baseUrl: string;
  gateway: Gateway;
  /** The address the server is bound to. */
  address: string;
  /** The gateway's Express app (its routes can be read from it). */
  app: import('express').Express;
  queuePrefix: string;
  queues: PipelineQueues;
  db: Db;
  database: TestDatabase;
  libraryDir: string;
  /** An admin key minted into this gateway's database; `client()` and `authHeaders` send it. */
  apiKey: string;
  authHeaders: { authorization: string };
  /** A JSON client sending `token` (default: the admin key; null: no Authorization header). */
  client(token?: string | null): ReturnType<typeof jsonClient>;
  /** Another key in this gateway's database (name defaults to a fresh one). */
  mintKey(input: Partial<NewApiKey> & Pick<NewApiKey, 'scopes'>): Promise<string>;
  close(): Promise<void>;
}

/** The real gateway in-process on port 0, over a database, queue prefix and library of its own. */
export async function startTestGateway(
  label: string,
  options: Pick<GatewayDeps, 'referenceMaxBytes' | 'bundleMaxBytes' | 'bundleMaxUncompressedBytes' | 'authMode' | 'socketMaxSubscriptions' | 'socketMaxConnectionsPerKey' | 'socketKeyRecheckMs' | 'edge' | 'importConcurrency' | 'referenceMaxPixels' | 'limits' | 'webhookAllow'> & {
    /** Routes the gateway's connections, e.g. through a TCP proxy a test can cut. */
    connectVia?: (databaseUrl: string) => string;
    /** Routes the rate limiters' Redis connection, e.g. through a TCP proxy a test can cut. */
    limiterRedisVia?: (redisUrl: string) => string;
    /** Routes the job-event subscriber's Redis connection, e.g. through a TCP proxy a test can cut. */
    subscriberRedisVia?: (redisUrl: string) => string;
    /** Routes the queues' and publishers' Redis connection, e.g. through a TCP proxy a test can cut. */
    redisVia?: (redisUrl: string) => string;
    /** Where to listen (default 127.0.0.1). */
    host?: string;
    /** Another gateway's database, as a second replica shares it (that gateway drops it; this one leaves it). */
    database?: TestDatabase;
    /** Another gateway's prefix, to share its job events and (with `socketAdapter`) its Socket.IO rooms. */
    queuePrefix?: string;
    /** Socket.IO on the Redis adapter, as the gateway runs in production (scale-out tests). */
    socketAdapter?: boolean;
    /** DATABASE_QUERY_TIMEOUT_MS of the gateway's connections (default 10 s). */
    queryTimeoutMs?: number;
    /** The gateway's logger (default: errors only, to the console). */
    log?: Logger;
  } = {},
): Promise<TestGateway> {
  const { connectVia, limiterRedisVia, subscriberRedisVia, redisVia, host = '127.0.0.1', database: sharedDatabase, queuePrefix: sharedPrefix, socketAdapter: withAdapter, queryTimeoutMs, log, ...settings } = options;
  // A test sends requests back to back, faster on a quiet machine than any client: the request rate
  // limit (20/s + 40 per 10 s) is lifted unless the test names its limits (`limits: {}` keeps the defaults).
  const limits = { ...settings, limits: settings.limits ?? { RATE_LIMIT_RPS: 1_000_000 } };
  const database = sharedDatabase ?? (await createTestDatabase(label));
  const db = createDb(connectVia ? connectVia(database.url) : database.url, { max: 5, queryTimeoutMs });
  const redis = createRedis(redisVia ? redisVia(TEST_REDIS_URL) : TEST_REDIS_URL, 'worker');
  const subscriber = createRedis(subscriberRedisVia ? subscriberRedisVia(TEST_REDIS_URL) : TEST_REDIS_URL, 'subscriber');
  const limiterRedis = createLimiterRedis(limiterRedisVia ? limiterRedisVia(TEST_REDIS_URL) : TEST_REDIS_URL);
  const queuePrefix = sharedPrefix ?? uniqueQueuePrefix(label);
  const socketAdapter = withAdapter ? createSocketAdapter(TEST_REDIS_URL, queuePrefix) : undefined;
  const queues = createPipelineQueues(redis, queuePrefix);
  const libraryDir = await mkdtemp(path.join(tmpdir(), `gateway-${label}-`));
  const gateway = await createGateway({
    db,
    queues,
    events: new JobEventPublisher(redis, queuePrefix),
    control: new JobControlPublisher(redis, queuePrefix),
    subscriber,
    queuePrefix,
    libraryDir,
    limiterRedis,
    ...limits,
    socketAdapter: socketAdapter?.adapter,
    log: log ?? createLogger('gateway', 'error'),
    // As services/gateway/src/start.ts checks them.
    readiness: {
      database: async () => {
        await db.$queryRaw`SELECT 1`;
      },
      redis: async () => {
        await redis.ping();
      },
    },
  });
  const port = await gateway.listen(0, host);
  const { address } = gateway.http.address() as { address: string };
  const baseUrl = `http://127.0.0.1:${port}`;
  let minted = 0;
  const mint = async (input: Partial<NewApiKey> & Pick<NewApiKey, 'scopes'>) => (await mintKey(db, { name: `test-${++minted}`, ...input })).key;
  // Key names are unique among live keys: a replica on another gateway's database mints its admin under its own.
  const apiKey = await mint({ name: sharedDatabase ? `test-admin-${label}` : 'test-admin', scopes: ['admin'] });
  return {
    apiKey,
    authHeaders: { authorization: `Bearer ${apiKey}` },
    client: (token = apiKey) => jsonClient(baseUrl, token),
    mintKey: mint,
    baseUrl,
    address,
    app: gateway.app,
    gateway,
    queuePrefix,
    db,
    database,
    libraryDir,
    queues,
    close: async () => {
      await gateway.close();
      socketAdapter?.close();
      await queues.close();
      // Every key under the prefix: the queues and what BullMQ's obliterate would leave (the generation-events stream).
      await removeQueueKeys(queuePrefix);
      subscriber.disconnect();
      limiterRedis.disconnect();
      await redis.quit();
      await db.$disconnect();
      if (!sharedDatabase) await database.drop();
      await rm(libraryDir, { recursive: true, force: true });
    },
  };
}
