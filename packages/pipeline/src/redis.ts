import { Redis } from 'ioredis';

/**
 * One ioredis connection per role. BullMQ workers need `maxRetriesPerRequest: null` so a Redis
 * restart blocks them instead of failing every command; the database index in the URL is honoured.
 */
export function createRedis(url: string, role: 'worker' | 'client' | 'subscriber' = 'client'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'client' ? 3 : null,
    enableReadyCheck: true,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}
