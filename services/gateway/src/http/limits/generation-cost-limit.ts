import { countRateLimitRefusal } from '@anime/pipeline';
import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { GenerationRequestBody } from '@anime/contracts';
import type { Logger } from '@anime/logger';
import { insuredLimiter } from './insured-limiter';
import { addRateLimitHeaders, limitState, secondsUntil } from './rate-limit-headers';
import { rateLimitKey } from './rate-limit-key';
import { tooMany } from './rate-limited';

const WINDOW_S = 60;

/** What a generation asks of the GPUs: images × pixels × sampler steps, the request's defaults applied. */
export function generationCost(body: Pick<GenerationRequestBody, 'count' | 'width' | 'height' | 'steps'>): number {
  return body.count * body.width * body.height * body.steps;
}

export interface CostCharge {
  /** Gives the points back: the generation was refused after all (a 4xx from resolving it). */
  refund(): Promise<void>;
}

export type ChargeGenerationCost = (req: Request, res: Response, body: GenerationRequestBody) => Promise<CostCharge>;

/** RATE_LIMIT_COST_PER_MIN of generation cost per key per minute; beyond, 429 `rate_limited`. */
export function generationCostLimit(options: { redis: Redis; prefix: string; costPerMinute: number; log: Logger }): ChargeGenerationCost {
  const limiter = insuredLimiter(options.redis, options.log, { keyPrefix: `${options.prefix}:rate-limit:cost`, points: options.costPerMinute, duration: WINDOW_S });
  const limit = options.costPerMinute;
  return async (req, res, body) => {
    const key = rateLimitKey(req, res);
    const cost = generationCost(body);
    if (cost > limit) {
      // Would never fit: refused without spending the window, so the caller's smaller requests still pass.
      const current = (await limiter.get(key).catch(() => null)) ?? new RateLimiterRes(limit, WINDOW_S * 1000, 0);
      addRateLimitHeaders(res, limitState('cost', limit, WINDOW_S, current), true);
      countRateLimitRefusal('generation_cost');
      throw tooMany(res, 'rate_limited', WINDOW_S, `this generation costs ${cost} (count × width × height × steps), more than the ${limit} allowed per minute; ask for fewer, smaller or shorter images`, {
        cost,
        limit,
        windowS: WINDOW_S,
      });
    }
    const outcome = await limiter.consume(key, cost).then(
      (allowed) => ({ allowed: true, res: allowed }),
      (refused: unknown) => {
        if (refused instanceof RateLimiterRes) return { allowed: false, res: refused };
        throw refused;
      },
    );
    if (!outcome.allowed) {
      // The refused attempt was counted; give it back so the window holds only what was accepted.
      await limiter.reward(key, cost).catch(() => undefined);
      const state = limitState('cost', limit, WINDOW_S, outcome.res);
      state.remaining = Math.max(0, limit - (outcome.res.consumedPoints - cost));
      addRateLimitHeaders(res, state, true);
      const retryAfter = secondsUntil(outcome.res.msBeforeNext);
      countRateLimitRefusal('generation_cost');
      throw tooMany(res, 'rate_limited', retryAfter, `this generation costs ${cost} and only ${state.remaining} of the ${limit} allowed per minute remain; retry in ${retryAfter} s`, {
        cost,
        limit,
        remaining: state.remaining,
        windowS: WINDOW_S,
        retryAfterS: retryAfter,
      });
    }
    addRateLimitHeaders(res, limitState('cost', limit, WINDOW_S, outcome.res));
    return { refund: () => limiter.reward(key, cost).then(() => undefined, () => undefined) };
  };
}
