import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger, type Logger } from '@anime/logger';
import { createPipelineQueues, createRedis, StageDeferredError, type PipelineQueues } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix } from '@anime/testing';
import { BackendPool, type BackendLease } from '../src/domain/backend-pool';
import { SharedHandBacks } from '../src/domain/backends/shared-hand-backs';

export interface BackendPoolsFixture {
  db: Db;
  redis: Redis;
  queuePrefix: string;
  queues: PipelineQueues;
  /** The backends, as many as asked for. */
  simulators: Simulator[];
  /** The render queue, whose jobs a pool hands back. */
  renders(): Queue;
  /** The shared lines as a process configured with `urls` (by default every simulator's) keeps them. */
  shared(urls?: string[]): SharedHandBacks;
  /**
   * A process's pool, started, and closed by close(): one place per backend (BACKEND_PREFETCH 0),
   * probes far apart (so only a place coming free promotes), over `urls` (by default every
   * simulator's), with the shared lines of those urls unless `shared` names others (null: none).
   */
  startPool(options?: { urls?: string[]; shared?: SharedHandBacks | null; log?: Logger }): Promise<BackendPool>;
  /** As the stage worker does with a job refused (StageDeferredError): delayed in its queue (long, as a deep backlog makes it), then told; its id. */
  handedBack(lease: Promise<BackendLease>, generationId: string, priority?: 'interactive' | 'batch'): Promise<string>;
  close(): Promise<void>;
}

/** Orchestrator processes' backend pools in-process, sharing Redis, the render queue and a database of their own. */
export async function startBackendPoolsFixture(label: string, { simulators: count = 1 }: { simulators?: number } = {}): Promise<BackendPoolsFixture> {
  const queuePrefix = uniqueQueuePrefix(label);
  const database = await createTestDatabase(label);
  const db = createDb(database.url, { max: 3 });
  const simulators = await Promise.all(Array.from({ length: count }, () => startSimulator({ stepMs: 1 })));
  const redis = createRedis(TEST_REDIS_URL);
  const queues = createPipelineQueues(redis, queuePrefix, {}, createLogger(`${label}-test`, 'error'));
  const pools: BackendPool[] = [];
  const everyUrl = simulators.map((simulator) => simulator.url);
  const renders = () => queues.byKey.generationRenders;
  const shared = (urls = everyUrl) => new SharedHandBacks({ redis, queue: renders(), queuePrefix, urls });

  return {
    db,
    redis,
    queuePrefix,
    queues,
    simulators,
    renders,
    shared,
    startPool: async ({ urls = everyUrl, shared: lines = shared(urls), log = createLogger('orchestrator', 'error') } = {}) => {
      const pool = new BackendPool({ urls, db, log, prefetch: 0, probeEveryMs: 60_000, shared: lines ?? undefined });
      pools.push(pool);
      await pool.start();
      return pool;
    },
    handedBack: async (lease, generationId, priority = 'batch') => {
      const error = await lease.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StageDeferredError);
      const job = (await queues.enqueue('generationRenders', { schemaVersion: 1, generationId }, { priority, delayMs: 10 * 60_000 })) as Job;
      (error as StageDeferredError).onDelayed!(job);
      return job.id!;
    },
    close: async () => {
      await Promise.all(pools.map((pool) => pool.close()));
      await queues.close();
      await redis.quit();
      await Promise.all(simulators.map((simulator) => simulator.close()));
      await db.$disconnect();
      await database.drop();
      await removeQueueKeys(queuePrefix);
    },
  };
}
