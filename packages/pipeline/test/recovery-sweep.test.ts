import type { Redis } from 'ioredis';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { createPipelineQueues, type PipelineQueues } from '../src/queues';
import { createRedis } from '../src/redis';
import { sweepStage } from '../src/recovery';

/** More queued generations than one page of the sweep's query (500). */
const QUEUED = 620;

describe('the recovery sweep over a deep queue', () => {
  const queuePrefix = uniqueQueuePrefix('recovery-sweep');
  let database: TestDatabase;
  let db: Db;
  let redis: Redis;
  let queues: PipelineQueues;
  let ids: string[];

  beforeAll(async () => {
    database = await createTestDatabase('recovery-sweep');
    db = createDb(database.url, { max: 2 });
    redis = createRedis(TEST_REDIS_URL, 'worker');
    queues = createPipelineQueues(redis, queuePrefix, {}, createLogger('recovery-sweep-test', 'error'));
    // Waiting for a render, untouched for a minute (past the sweep's grace), the oldest first.
    const rows = await db.$queryRawUnsafe<{ id: string }[]>(
      `INSERT INTO generation_jobs (id, status, stage, request, project, episode, scene, "updatedAt")
       SELECT gen_random_uuid(), 'queued', 'resolved', '{}'::jsonb, 'default', 'ep00', 'sc000', now() - interval '60 seconds' + n * interval '1 millisecond'
       FROM generate_series(1, ${QUEUED}) AS n RETURNING id`,
    );
    ids = rows.map((r) => r.id);
  });

  afterAll(async () => {
    await queues?.close();
    await redis?.quit();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  const missing = async () => {
    const lacking: string[] = [];
    for (const id of ids) if (!(await queues.byKey.generationRenders.getJob(`render-${id}`))) lacking.push(id);
    return lacking;
  };

  it(`when Redis lost the render jobs of ${QUEUED} queued generations, then one sweep puts back every one of them, and a later sweep the newest ones an operator removed`, async () => {
    expect(await sweepStage(db, queues, 'generationRenders')).toBe(QUEUED);
    expect(await missing()).toEqual([]);

    // Removed from the board (clean / empty) while the oldest ones still wait: put back too.
    const newest = ids.slice(-25);
    for (const id of newest) await (await queues.byKey.generationRenders.getJob(`render-${id}`))!.remove();
    expect(await sweepStage(db, queues, 'generationRenders')).toBe(newest.length);
    expect(await missing()).toEqual([]);
    // Nothing to do when every generation has its live job.
    expect(await sweepStage(db, queues, 'generationRenders')).toBe(0);
  }, 60_000);
});
