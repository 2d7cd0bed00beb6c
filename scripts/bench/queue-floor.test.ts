import { databaseStatements } from '@anime/db';
import { createRedis } from '@anime/pipeline';
import { createTestDatabase, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { QUEUE_FLOOR_STATEMENTS_PER_JOB, queueFloor } from './queue-floor';
import { SERVER_LOOKUP_STATEMENTS } from './store-processes';

describe('queue and database floor (the bench baseline of three BullMQ hops with four statements per job)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('queue-floor');
  });

  afterAll(async () => {
    await database.drop();
  });

  it('when it carries jobs, then each passes the three hops with four statements, and it leaves neither its table nor its queue keys', async () => {
    const prefix = uniqueQueuePrefix('queue-floor');
    const before = databaseStatements();
    const floor = await queueFloor({ databaseUrl: database.url, redisUrl: TEST_REDIS_URL, prefix, count: 60 });
    // Four per job, plus creating and dropping its table and finding the PostgreSQL server whose processes it measures.
    expect(databaseStatements() - before).toBe(60 * QUEUE_FLOOR_STATEMENTS_PER_JOB + 2 + SERVER_LOOKUP_STATEMENTS);
    expect(floor.jobs).toBe(60);
    expect(floor.jobsPerSecond).toBeGreaterThan(0);
    expect(floor.processCpuMsPerJob).toBeGreaterThan(0);
    // The CPU of the PostgreSQL and Redis servers it used (found on this machine), not unknown.
    expect(floor.postgresCpuMsPerJob).not.toBeNull();
    expect(floor.redisCpuMsPerJob).not.toBeNull();
    const redis = createRedis(TEST_REDIS_URL);
    try {
      expect(await redis.keys(`${prefix}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
