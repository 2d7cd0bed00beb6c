import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Queue, UnrecoverableError } from 'bullmq';
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

/** A port nothing listens on now, for a service whose ops server must be reached before its start resolves. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a worker service started while PostgreSQL is unreachable', () => {
  const queuePrefix = uniqueQueuePrefix('worker-db-at-start');
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: RunningService | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('worker-db-at-start');
    proxy = await startTcpProxy(TEST_POSTGRES);
  });

  afterAll(async () => {
    await proxy.accept().catch(() => undefined);
    await service?.stop();
    await proxy.close();
    await database.drop();
    await removeQueueKeys(queuePrefix);
  });

  const options = (databaseUrl: string, opsPort: number) => ({
    service: 'file-organizer' as const,
    opsPort,
    databaseUrl,
    redisUrl: TEST_REDIS_URL,
    queuePrefix,
    log,
    build: async () => ({ handlers: { assetFiling: { run: async () => ({ outcome: 'unused' }) } } }),
  });

  it('when PostgreSQL does not answer yet, then the service waits for it (alive on /healthz, 503 on /readyz) and is ready once it answers', async () => {
    await proxy.refuse();
    const port = await freePort();
    const starting = startWorkerService(options(proxy.urlFor(database.url), port));
    let ended: unknown;
    starting.then(
      (started) => void (service = started),
      (error) => void (ended = error),
    );
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200, '/healthz while PostgreSQL is away', 10_000);
    // Several refused tries later, the start is still waiting, not given up.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(ended).toBeUndefined();
    const waiting = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect({ status: waiting.status, body: await waiting.json() }).toEqual({
      status: 503,
      body: { status: 'not_ready', service: 'file-organizer', failing: ['database'], error: { code: 'database_unavailable', message: expect.any(String) } },
    });
    await proxy.accept();
    await starting;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, '/readyz to answer 200 once PostgreSQL is back', 10_000);
  });

  it('when PostgreSQL refuses the database itself (it does not exist), then the start fails at once rather than waiting forever', async () => {
    const missing = new URL(database.url);
    missing.pathname = `/${database.name}_missing`;
    await expect(startWorkerService(options(missing.toString(), 0))).rejects.toThrow();
  });
});

describe('stopping a worker service with a job in flight', () => {
  let redis: Redis;
  let database: TestDatabase;
  const prefixes: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('worker-stop');
    redis = createRedis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    redis.disconnect();
    for (const prefix of prefixes) await removeQueueKeys(prefix);
    await database.drop();
  });

  type Locate = NonNullable<StageHandler<'assetFiling'>['locate']>;
  /** Each case its own queues: a job one case leaves active must not be run by the next one's workers. */
  const queues = () => {
    const prefix = uniqueQueuePrefix('worker-stop');
    prefixes.push(prefix);
    const queue = new Queue(PIPELINE_CATALOG.assetFiling.name, { connection: redis, prefix });
    /** A file-organizer whose asset-filing jobs do `locate` (what a stage does first), one at a time, with a 500 ms grace at stop. */
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
    const numbers = new Map<string, number>();
    // A priority, as every stage job has one: BullMQ keeps such jobs in their own set.
    const add = (n: number) => {
      const generationId = randomUUID();
      numbers.set(generationId, n);
      return queue.add('fileOutputs', { schemaVersion: 1, generationId }, { attempts: 2, priority: 5 });
    };
    /** The number `add` gave the job of this payload. */
    const numberOf = (payload: unknown) => numbers.get((payload as { generationId: string }).generationId);
    return { queue, startWith, add, numberOf };
  };
  /** Work that would take minutes, but ends when its signal is aborted (as a render does). */
  const untilAborted = (onStart: () => void): Locate => (_payload, { signal }) =>
    new Promise<string>((_resolve, reject) => {
      onStart();
      signal?.addEventListener('abort', () => reject(signal.reason));
    });

  it('when a job outlasts the grace and its processor ends on its signal, then an idle worker takes it at once', async () => {
    const { queue, startWith, add } = queues();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const stoppingService = await startWith(untilAborted(() => started()));
    const job = await add(1);
    await running;
    // Started once the job runs, so it waits idle for work, blocked on BullMQ's marker.
    let takenAt: number | undefined;
    const takingService = await startWith(async (payload) => {
      takenAt ??= Date.now();
      return (payload as { generationId: string }).generationId;
    });
    try {
      const t0 = Date.now();
      await stoppingService.stop();
      expect(Date.now() - t0).toBeLessThan(2_500);
      // Woken, not left until its block times out (5 s), nor until the job's lock lapses (10 s) and the stall check (5 s).
      await waitFor(async () => takenAt !== undefined, 'the job to be taken by the idle worker', 3_000);
      expect(takenAt! - t0).toBeLessThan(2_500);
      // Started by both workers (the stopped one's try did not count: the next case checks it before any other worker runs).
      expect((await queue.getJob(job.id!))!.attemptsStarted).toBe(2);
    } finally {
      await takingService.stop();
      await queue.close();
    }
  }, 20_000);

  it('when a job is handed back while others of its priority wait, then it is taken first, with its tries untouched', async () => {
    const { queue, startWith, add, numberOf } = queues();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const stoppingService = await startWith(untilAborted(() => started()));
    const first = await add(1);
    await running;
    for (const n of [2, 3, 4]) await add(n);
    await stoppingService.stop();
    expect(await queue.getJobState(first.id!)).toBe('prioritized');
    expect((await queue.getJob(first.id!))!.attemptsMade).toBe(0);

    const order: number[] = [];
    const takingService = await startWith(async (payload) => {
      order.push(numberOf(payload)!);
      return (payload as { generationId: string }).generationId;
    });
    try {
      await waitFor(async () => order.length === 4, 'the four jobs to be taken', 5_000);
      expect(order).toEqual([1, 2, 3, 4]);
    } finally {
      await takingService.stop();
      await queue.close();
    }
  }, 20_000);

  it('when a stage reaches a verdict of its own after its signal was aborted, then that is the job\'s outcome, not a hand-back', async () => {
    const { queue, startWith, add } = queues();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const service = await startWith(
      (_payload, { signal }) =>
        new Promise<string>((_resolve, reject) => {
          started();
          signal?.addEventListener('abort', () => setTimeout(() => reject(new UnrecoverableError('the stage refused the job')), 200));
        }),
    );
    const job = await add(1);
    await running;
    await service.stop();
    expect(await queue.getJobState(job.id!)).toBe('failed');
    expect((await queue.getJob(job.id!))!.failedReason).toBe('the stage refused the job');
    await queue.close();
  }, 20_000);

  it('when a job outlasts the grace and its processor ignores its signal, then stop returns soon after the grace and the hand-back wait, and leaves the job active (not failed) for a restarted worker', async () => {
    const { queue, startWith, add } = queues();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    // Work that would take minutes.
    const service = await startWith(() => {
      started();
      return new Promise<string>(() => undefined);
    });
    const job = await add(1);
    await running;

    const t0 = Date.now();
    await service.stop();
    // The grace (500 ms), then at most 1 s for the aborted processor to end, then the forced close.
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(await queue.getJobState(job.id!)).toBe('active');
    expect((await queue.getJob(job.id!))!.attemptsMade).toBe(0);
    await queue.close();
  }, 20_000);
});
