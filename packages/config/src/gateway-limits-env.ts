import { z } from 'zod';
import { positiveInt } from './env-fields';

/**
 * The costliest request the API accepts: 16 images of 2048 × 2048 at 150 steps. The default cost
 * budget lets one of those through per minute (or about 1,900 default 512², 20-step images), never
 * a stream of them.
 */
export const LARGEST_GENERATION_COST = 16 * 2048 * 2048 * 150;

/** The gateway's rate limits and backpressure (README "Rate limits"). */
export const gatewayLimitsEnv = {
  /** Requests per second per API key (or per client IP without one), on every /api route. */
  RATE_LIMIT_RPS: positiveInt(20),
  /** Extra requests per 10 s a key may spend above RATE_LIMIT_RPS, absorbing short bursts. */
  RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(40),
  /** Generation cost (count × width × height × steps) per key per minute. */
  RATE_LIMIT_COST_PER_MIN: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).default(LARGEST_GENERATION_COST),
  /** Generations of one key not yet terminal (queued or running) beyond which POST /generations is refused. */
  MAX_QUEUED_PER_KEY: positiveInt(1_000),
  /** Generations waiting (queued) across every key beyond which POST /generations is refused. */
  MAX_QUEUE_DEPTH: positiveInt(10_000),
  /** Requests of one key (or client IP without one) whose body is still arriving, each held in memory until whole. */
  REQUEST_BODIES_PER_KEY: positiveInt(8),
};

export const gatewayLimitsSchema = z.object(gatewayLimitsEnv);
export type GatewayLimitsConfig = z.infer<typeof gatewayLimitsSchema>;
