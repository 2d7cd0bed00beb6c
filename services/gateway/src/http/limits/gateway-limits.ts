import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { gatewayLimitsSchema, type GatewayLimitsConfig } from '@anime/config';
import type { Logger } from '@anime/logger';
import type { QueueCaps } from '../../domain/queue-pressure';
import { QueueRoomBounds } from '../../domain/queue-room-bounds';
import { bodiesInFlightLimit } from './bodies-in-flight';
import { generationCostLimit, type ChargeGenerationCost } from './generation-cost-limit';
import { requestRateLimit } from './request-rate-limit';

/** Rate limits and backpressure as the routes use them. */
export interface GatewayLimits {
  /** On every /api route, after authentication. */
  requests: RequestHandler;
  /** On every /api route, after `requests`: request bodies of one key arriving at once (REQUEST_BODIES_PER_KEY). */
  bodies: RequestHandler;
  chargeGenerationCost: ChargeGenerationCost;
  queueCaps: QueueCaps;
  /** The counts the caps are checked against, as this process vouches for them between readings. */
  queueRoom: QueueRoomBounds;
}

export type GatewayLimitSettings = Pick<GatewayLimitsConfig, 'RATE_LIMIT_RPS' | 'RATE_LIMIT_BURST' | 'RATE_LIMIT_COST_PER_MIN' | 'MAX_QUEUED_PER_KEY' | 'MAX_QUEUE_DEPTH' | 'REQUEST_BODIES_PER_KEY'>;

/** Limiter keys live under `<QUEUE_PREFIX>:rate-limit:*` and expire with their windows. */
export function createGatewayLimits(options: { redis: Redis; queuePrefix: string; log: Logger; settings?: Partial<GatewayLimitSettings> }): GatewayLimits {
  const settings = { ...gatewayLimitsSchema.parse({}), ...options.settings };
  const shared = { redis: options.redis, prefix: options.queuePrefix, log: options.log };
  const queueCaps = { maxQueuedPerKey: settings.MAX_QUEUED_PER_KEY, maxQueueDepth: settings.MAX_QUEUE_DEPTH };
  return {
    requests: requestRateLimit({ ...shared, rps: settings.RATE_LIMIT_RPS, burst: settings.RATE_LIMIT_BURST }),
    bodies: bodiesInFlightLimit(settings.REQUEST_BODIES_PER_KEY),
    chargeGenerationCost: generationCostLimit({ ...shared, costPerMinute: settings.RATE_LIMIT_COST_PER_MIN }),
    queueCaps,
    queueRoom: new QueueRoomBounds(queueCaps),
  };
}
