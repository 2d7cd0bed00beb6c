import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PIPELINE_CATALOG } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createTestDatabase, removeQueueKeys, startTcpProxy, TEST_POSTGRES, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TcpProxy, type TestDatabase } from '@anime/testing';
import { createRedis } from '../src/redis';
import type { StageHandler } from '../src/stage-worker';
import { startWorkerService, type RunningService } from '../src/worker-service';

const log = createLogger('worker-service-test', 'error');
const readyz = async (service: RunningService) => {
  const response = await fetch(`http://127.0.0.1:${service.ops.port()}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('a worker service while PostgreSQL is unreachable', () => {
  const queuePrefix = uniqueQueuePrefix('worker-readyz');
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: RunningService;

  beforeAll(async () => {
    database = await createTestDatabase('worker-readyz');
    proxy = await startTcpProxy(TEST_POSTGRES);
    service = await startWorkerService({
      service: 'file-organizer',
      opsPort: 0,
      databaseUrl: proxy.urlFor(database.url),
      redisUrl: TEST_REDIS_URL,
      queuePrefix,
      log,
      build: async () => ({ handlers: { assetFiling: { run: async () => ({ outcome: 'unused' }) } } }),
    });
  });

  afterAll(async () => {
    await proxy.accept();
    await service?.stop();
    await proxy.close();
    await database.drop();
    await removeQueueKeys(queuePrefix);
  });

  it('when PostgreSQL goes away, then /readyz answers 503 naming the database without the driver message, and 200 once it is back', async () => {
    expect(await readyz(service)).toEqual({ status: 200, body: { status: 'ready', service: 'file-organizer' } });
    await proxy.refuse();
    const notReady = await readyz(service);
    expect(notReady).toEqual({
      status: 503,
      body: { status: 'not_ready', service: 'file-organizer', failing: ['database'], error: { code: 'database_unavailable', message: 'file-organizer is not ready: database not answering' } },
    });
    // Nothing of the driver: no host, port, user or database name, no library error text.
    expect(JSON.stringify(notReady.body)).not.toMatch(/127\.0\.0\.1|5432|postgres|ECONN|prisma|connect/i);
    await proxy.accept();
    await waitFor(async () => (await readyz(service)).status === 200, '/readyz to answer 200 again', 10_000);
  });

  it('when OPS_HOST is not given, then the ops server listens on the loopback address only', () => {
    expect(service.ops.host()).toBe('127.0.0.1');
  });

  it('when the ops endpoints answer, then with nosniff, frame-ancestors none, no-referrer and no X-Powered-By', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/nothing-here']) {
      const response = await fetch(`http://127.0.0.1:${service.ops.port()}${path}`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
  });
});

describe('stopping a worker service with a job in flight', () => {
  const prefix = uniqueQueuePrefix('worker-stop');
  let redis: Redis;
  let queue: Queue;
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('worker-stop');
    redis = createRedis(TEST_REDIS_URL);
    queue = new Queue(PIPELINE_CATALOG.assetFiling.name, { connection: redis, prefix });
  });

  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await removeQueueKeys(prefix);
    await database.drop();
  });

  type Locate = NonNullable<StageHandler<'assetFiling'>['locate']>;
  /** A file-organizer whose asset-filing jobs do `locate` (what a stage does first), with a 500 ms grace at stop. */
  const startWith = (locate: Locate) =>
    startWorkerService({
      service: 'file-organizer',
      opsPort: 0,
      databaseUrl: database.url,
      redisUrl: TEST_REDIS_URL,
      queuePrefix: prefix,
      log,
      closeGraceMs: 500,
      build: async () => ({ handlers: { assetFiling: { locate, run: async () => ({ outcome: 'unused' }) } } }),
    });
  /** A job added and its `locate` called: it runs. */
  const addRunning = async (started: Promise<void>) => {
    const job = await queue.add('fileOutputs', { schemaVersion: 1, generationId: randomUUID() }, { attempts: 2 });
    await started;
    return job;
  };

  it('when a job outlasts the grace and its processor ends on its signal, then the job is back in its queue with its tries untouched, and another worker takes it at once', async () => {
    let started!: () => void;
    // Work that would take minutes, but ends when its signal is aborted (as a render does).
    const stoppingService = await startWith(
      (_payload, { signal }) =>
        new Promise<string>((_resolve, reject) => {
          started();
          signal?.addEventListener('abort', () => reject(signal.reason));
        }),
    );
    const job = await addRunning(new Promise<void>((resolve) => (started = resolve)));

    const t0 = Date.now();
    await stoppingService.stop();
    expect(Date.now() - t0).toBeLessThan(2_500);
    // Delayed by nothing: the next worker to look takes it (moveToDelayed wakes idle workers, moveToWait does not).
    expect(await queue.getJobState(job.id!)).toBe('delayed');
    expect((await queue.getJob(job.id!))!.delay).toBe(0);
    expect((await queue.getJob(job.id!))!.attemptsMade).toBe(0);

    // Another process takes it without waiting for a lock to lapse (10 s) and the stall check (5 s).
    let takenAt: number | undefined;
    const takingService = await startWith((payload) => {
      takenAt ??= Date.now();
      return Promise.resolve((payload as { generationId: string }).generationId);
    });
    try {
      await waitFor(async () => takenAt !== undefined, 'the job to be taken by the other worker', 3_000);
      expect(takenAt! - t0).toBeLessThan(5_000);
    } finally {
      await takingService.stop();
    }
  }, 20_000);

  it('when a job outlasts the grace and its processor ignores its signal, then stop returns soon after the grace and the hand-back wait, and leaves the job active (not failed) for a restarted worker', async () => {
    let started!: () => void;
    // Work that would take minutes.
    const service = await startWith(() => {
      started();
      return new Promise<string>(() => undefined);
    });
    const job = await addRunning(new Promise<void>((resolve) => (started = resolve)));

    const t0 = Date.now();
    await service.stop();
    // The grace (500 ms), then at most 1 s for the aborted processor to end, then the forced close.
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(await queue.getJobState(job.id!)).toBe('active');
    expect((await queue.getJob(job.id!))!.attemptsMade).toBe(0);
  }, 20_000);
});
