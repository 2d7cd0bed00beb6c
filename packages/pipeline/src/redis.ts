import { Redis } from 'ioredis';
import type { Logger } from '@anime/logger';
import { reportRedisErrors } from './redis-errors';

/**
 * One ioredis connection per role. BullMQ workers need `maxRetriesPerRequest: null` so a Redis
 * restart blocks them instead of failing every command; the database index in the URL is honoured.
 * Given a logger, its errors go there (message only); without one ioredis prints their stack.
 */
export function createRedis(url: string, role: 'worker' | 'client' | 'subscriber' = 'client', log?: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: role === 'client' ? 3 : null,
    enableReadyCheck: true,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  return log ? reportRedisErrors(redis, log, `redis ${role}`) : redis;
}
