import type { Redis } from 'ioredis';
import { removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix } from '@anime/testing';
import { moreUrgentWaiting, WAIT_LIST_LOOK, type WaitingKeys } from '../src/more-urgent-waiting';
import { createRedis } from '../src/redis';

/** HGETs Redis ran, scripts' included (server-wide: other clients add a few, never thousands, meanwhile). */
async function hgetCalls(redis: Redis): Promise<number> {
  const line = (await redis.info('commandstats')).split('\r\n').find((l) => l.startsWith('cmdstat_hget:'));
  return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0);
}

/** A job's hash with its priority, as BullMQ keeps it (`priority` field). */
const job = (redis: Redis, keys: WaitingKeys, id: string, priority: number) => redis.hset(`${keys.jobPrefix}${id}`, 'priority', String(priority));
/** Its score in the prioritized set: priority × 2^32 plus a counter. */
const score = (priority: number, counter: number) => priority * 0x100000000 + counter;

describe('moreUrgentWaiting (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let keys: WaitingKeys;

  beforeAll(() => {
    redis = createRedis(TEST_REDIS_URL);
  });
  beforeEach(() => {
    prefix = uniqueQueuePrefix('more-urgent');
    keys = { prioritized: `${prefix}:renders:prioritized`, wait: `${prefix}:renders:wait`, jobPrefix: `${prefix}:renders:` };
  });
  afterEach(() => removeQueueKeys(prefix));
  afterAll(() => redis.quit());

  it('when nothing waits, or only jobs as urgent or less, then the job runs; a more urgent one prioritized or on the wait list sends it back', async () => {
    expect(await moreUrgentWaiting(redis, keys, 10)).toBe(false);
    await redis.zadd(keys.prioritized, score(10, 1), 'p10');
    await job(redis, keys, 'w20', 20);
    await job(redis, keys, 'w10', 10);
    await redis.rpush(keys.wait, 'w20', 'w10', 'plain');
    expect(await moreUrgentWaiting(redis, keys, 10)).toBe(false);
    await job(redis, keys, 'w1', 1);
    await redis.lpush(keys.wait, 'w1');
    expect(await moreUrgentWaiting(redis, keys, 10)).toBe(true);
    await redis.lrem(keys.wait, 1, 'w1');
    await redis.zadd(keys.prioritized, score(1, 2), 'p1');
    expect(await moreUrgentWaiting(redis, keys, 10)).toBe(true);
    // Scores of the front of a priority (moveToWait: counter 0) and of a high priority read exactly.
    expect(await moreUrgentWaiting(redis, keys, 1)).toBe(false);
    await redis.zadd(keys.prioritized, score(2_000_000, 0), 'p2m');
    expect(await moreUrgentWaiting(redis, keys, 2_000_000)).toBe(true);
  });

  it(`when the wait list is long (every orchestrator killed holding many jobs), then one look reads at most ${WAIT_LIST_LOOK} job hashes, and the job goes back behind them`, async () => {
    // 50,000 jobs put back, none more urgent than this one.
    // Written by one script on the server (j0 … j49999, in that order): 50,000 HSETs sent from here
    // cost seconds of this process's CPU.
    await redis.eval(
      "for i = 0, tonumber(ARGV[1]) - 1 do local id = 'j' .. i; redis.call('HSET', KEYS[1] .. id, 'priority', '10'); redis.call('RPUSH', KEYS[2], id) end",
      2,
      keys.jobPrefix,
      keys.wait,
      50_000,
    );
    expect(await redis.llen(keys.wait)).toBe(50_000);
    expect(await redis.hget(`${keys.jobPrefix}j49999`, 'priority')).toBe('10');
    const before = await hgetCalls(redis);
    const back = await moreUrgentWaiting(redis, keys, 10);
    const read = (await hgetCalls(redis)) - before;
    // Before: the whole list read, 50,000 HGETs (~50 ms with Redis blocked), for each job taken from it.
    expect(read).toBeLessThan(10_000);
    expect(back).toBe(true);
  }, 60_000);

  it(`when a more urgent job waits within the ${WAIT_LIST_LOOK} nearest the tail of a short list, then it is found wherever it is among them`, async () => {
    const ids = Array.from({ length: WAIT_LIST_LOOK }, (_, i) => `j${i}`);
    for (const id of ids) await job(redis, keys, id, 10);
    await job(redis, keys, 'j0', 1);
    // j0 at the head: read last (workers take from the tail).
    await redis.rpush(keys.wait, ...ids);
    expect(await moreUrgentWaiting(redis, keys, 10)).toBe(true);
    await job(redis, keys, 'j0', 10);
    expect(await moreUrgentWaiting(redis, keys, 10)).toBe(false);
  });
});
