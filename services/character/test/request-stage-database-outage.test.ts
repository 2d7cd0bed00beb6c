import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { characterConfigSchema } from '@anime/config';
import { PIPELINE_CATALOG } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createRedis, startWorkerService, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, startTcpProxy, TEST_POSTGRES, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TcpProxy, type TestDatabase } from '@anime/testing';
import { startCharacterService } from '../src/start';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const redis = createRedis(TEST_REDIS_URL);

/**
 * "PostgreSQL being away delays a stage without spending a try": also before the stage has a row to
 * work on. A producer's message creates its generation in the character service; while PostgreSQL
 * is away it must wait, not fail (a plain `queue.add` gives it a single try, and a failed message
 * with no generation row is something no recovery sweep can bring back: the request was lost).
 */
describe('a generation-requests message while PostgreSQL is unreachable', () => {
  const queuePrefix = uniqueQueuePrefix('request-db-outage');
  let database: TestDatabase;
  let db: Db;
  let proxy: TcpProxy;
  let service: RunningService;
  let requests: Queue;

  beforeAll(async () => {
    database = await createTestDatabase('request-db-outage');
    db = createDb(database.url, { max: 2 });
    const character = await db.character.create({ data: { slug: 'kai-nakamura', name: 'Kai Nakamura', currentVersion: 1 } });
    await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai Nakamura', triggerWords: ['kainakamura'] } } });
    proxy = await startTcpProxy(TEST_POSTGRES);
    const config = characterConfigSchema.parse({ DATABASE_URL: proxy.urlFor(database.url), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, CHARACTER_PORT: '0' });
    service = await startCharacterService(config, createLogger('character', 'error'));
    requests = new Queue(PIPELINE_CATALOG.generationRequests.name, { connection: redis, prefix: queuePrefix });
  });

  afterAll(async () => {
    await proxy?.accept();
    await service?.stop();
    await requests?.close();
    await proxy?.close();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  it('when a producer adds a request during the outage, then it waits (delayed, no try spent) and its generation is created and resolved once PostgreSQL is back', async () => {
    await proxy.refuse();
    // As a producer adds it (README "For systems that produce onto the queues"): no attempts, no backoff.
    const added = await requests.add(PIPELINE_CATALOG.generationRequests.jobName, {
      schemaVersion: 1, source: 'storyboard', requestId: 'shot-during-outage', character: 'kai-nakamura', prompt: 'on a rooftop',
    });
    await waitFor(async () => ((await requests.getJob(added.id!))?.processedOn ? true : null), 'the worker to take the message', 10_000, 50);
    await pause(1_500);
    const during = (await requests.getJob(added.id!))!;
    expect([await during.getState(), during.attemptsMade, during.failedReason ?? null]).toEqual(['delayed', 0, null]);

    await proxy.accept();
    const row = await waitFor(
      () => db.generationJob.findFirst({ where: { source: 'storyboard', requestId: 'shot-during-outage', stage: 'resolved' } }),
      'the generation to be created and resolved',
      20_000,
    );
    expect(row.status).toBe('queued');
    expect(await waitFor(async () => ((await requests.getJobState(added.id!)) === 'completed' ? 'completed' : null), 'the message to complete', 10_000)).toBe('completed');
    expect(await db.generationJob.count()).toBe(1);
  }, 40_000);
});

describe('a stage message whose generation cannot be read while PostgreSQL is unreachable', () => {
  const queuePrefix = uniqueQueuePrefix('stage-db-outage');
  let database: TestDatabase;
  let proxy: TcpProxy;
  let service: RunningService;
  let filing: Queue;

  beforeAll(async () => {
    database = await createTestDatabase('stage-db-outage');
    proxy = await startTcpProxy(TEST_POSTGRES);
    service = await startWorkerService({
      service: 'file-organizer',
      opsPort: 0,
      databaseUrl: proxy.urlFor(database.url),
      redisUrl: TEST_REDIS_URL,
      queuePrefix,
      log: createLogger('file-organizer', 'error'),
      build: async () => ({ handlers: { assetFiling: { run: async () => ({ outcome: 'unused' }) } } }),
    });
    filing = new Queue(PIPELINE_CATALOG.assetFiling.name, { connection: redis, prefix: queuePrefix });
  });

  afterAll(async () => {
    await proxy?.accept();
    await service?.stop();
    await filing?.close();
    await proxy?.close();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
    redis.disconnect();
  });

  it('when the generation cannot be loaded, then the job is delayed without spending its tries, and runs once PostgreSQL is back', async () => {
    await proxy.refuse();
    const generationId = randomUUID();
    // Two quick tries: without the deferral both are spent within the outage and the job fails.
    const added = await filing.add(PIPELINE_CATALOG.assetFiling.jobName, { schemaVersion: 1, generationId }, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
    await waitFor(async () => ((await filing.getJob(added.id!))?.processedOn ? true : null), 'the worker to take the job', 10_000, 50);
    await pause(1_500);
    const during = (await filing.getJob(added.id!))!;
    expect([await during.getState(), during.attemptsMade]).toEqual(['delayed', 0]);

    await proxy.accept();
    // Back: the row is read at last (there is none), which fails the job once, for that reason.
    await waitFor(async () => ((await filing.getJobState(added.id!)) === 'failed' ? true : null), 'the job to run after the outage', 20_000);
    // Read after the state: a job read before it moved to failed has no failedReason yet.
    const failed = (await filing.getJob(added.id!))!;
    expect(failed.failedReason).toBe(`generation ${generationId} does not exist`);
    expect(failed.attemptsMade).toBe(1);
  }, 40_000);
});
