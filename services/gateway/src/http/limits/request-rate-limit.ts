import { countRateLimitRefusal } from '@anime/pipeline';
import type { RequestHandler } from 'express';
import { BurstyRateLimiter, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { Logger } from '@anime/logger';
import { insuredLimiter } from './insured-limiter';
import { addRateLimitHeaders, limitState, secondsUntil } from './rate-limit-headers';
import { rateLimitKey } from './rate-limit-key';
import { tooMany } from './rate-limited';

export const BURST_WINDOW_S = 10;

/**
 * RATE_LIMIT_RPS requests per second per key, plus RATE_LIMIT_BURST more per 10 s drawn only once
 * a second's allowance is spent. Every answer carries the RateLimit headers; beyond both, 429
 * `rate_limited`.
 */
export function requestRateLimit(options: { redis: Redis; prefix: string; rps: number; burst: number; log: Logger }): RequestHandler {
  const perSecond = insuredLimiter(options.redis, options.log, { keyPrefix: `${options.prefix}:rate-limit:requests`, points: options.rps, duration: 1 });
  const burst = insuredLimiter(options.redis, options.log, { keyPrefix: `${options.prefix}:rate-limit:burst`, points: options.burst, duration: BURST_WINDOW_S });
  const limiter = new BurstyRateLimiter(perSecond, burst);
  return async (req, res, next) => {
    const outcome = await limiter.consume(rateLimitKey(req, res)).then(
      (allowed) => ({ allowed: true, res: allowed }),
      (refused: unknown) => {
        // Only a refusal is a RateLimiterRes; anything else escaped the insurance and is a bug.
        if (refused instanceof RateLimiterRes) return { allowed: false, res: refused };
        throw refused;
      },
    );
    addRateLimitHeaders(res, limitState('requests', options.rps, 1, outcome.res), true);
    if (outcome.allowed) return next();
    const retryAfter = secondsUntil(outcome.res.msBeforeNext);
    countRateLimitRefusal('request_rate');
    throw tooMany(res, 'rate_limited', retryAfter, `more than ${options.rps} requests per second (plus a burst of ${options.burst} per ${BURST_WINDOW_S} s); retry in ${retryAfter} s`, {
      limit: options.rps,
      windowS: 1,
      retryAfterS: retryAfter,
    });
  };
}
