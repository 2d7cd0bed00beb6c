import { Redis } from 'ioredis';

/**
 * The rate limiters' own connection. Unlike the pipeline's (which wait for Redis forever), a
 * command fails at once while Redis is away and after 500 ms if it hangs, so a limiter falls back
 * to its in-process limits instead of holding the request.
 */
export function createLimiterRedis(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}
