import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** A BullMQ prefix of its own for one test file, so suites can run side by side on one Redis. */
export function uniqueQueuePrefix(label = 'test'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Deletes every Redis key under a queue prefix: a test's cleanup, or what a Redis restart does to that pipeline. */
export async function removeQueueKeys(prefix: string, redisUrl = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
