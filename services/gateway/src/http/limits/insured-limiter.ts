import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type IRateLimiterOptions } from 'rate-limiter-flexible';
import type { Logger } from '@anime/logger';

// One warning per this long while Redis is away: every request would otherwise log one.
const WARN_EVERY_MS = 30_000;

/** Stands in while Redis is away, with the same limits per gateway process, and says so in the log. */
class FallbackLimiter extends RateLimiterMemory {
  private warnedAt = 0;

  constructor(
    options: IRateLimiterOptions,
    private readonly log: Logger,
  ) {
    super(options);
  }

  private warn(): void {
    if (Date.now() - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = Date.now();
    this.log.warn('rate limiter cannot reach Redis; applying its limits per gateway process until Redis is back', { limiter: this.keyPrefix });
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>) {
    this.warn();
    return super.consume(...args);
  }

  override reward(...args: Parameters<RateLimiterMemory['reward']>) {
    this.warn();
    return super.reward(...args);
  }
}

/**
 * A fixed-window limiter kept in Redis under `keyPrefix` (each key expires with its window), insured
 * by an in-memory one: Redis being down never turns a request into a 500 nor lifts the limits.
 */
export function insuredLimiter(redis: Redis, log: Logger, options: { keyPrefix: string; points: number; duration: number }): RateLimiterRedis {
  return new RateLimiterRedis({
    storeClient: redis,
    rejectIfRedisNotReady: true,
    ...options,
    insuranceLimiter: new FallbackLimiter(options, log),
  });
}
