import type { Response } from 'express';
import type { RateLimiterRes } from 'rate-limiter-flexible';

/** The limits the RateLimit headers name: the request rate (every /api route), the generation cost (POST /api/v1/generations). */
export const RATE_LIMIT_POLICIES = ['requests', 'cost'] as const;

/** Where one named limit stands for this caller, as the RateLimit headers tell it. */
export interface LimitState {
  /** The policy name in `RateLimit-Policy` and `RateLimit`. */
  policy: (typeof RATE_LIMIT_POLICIES)[number];
  limit: number;
  windowS: number;
  remaining: number;
  /** Seconds until the window restarts (≥ 1). */
  resetS: number;
}

export function limitState(policy: LimitState['policy'], limit: number, windowS: number, res: RateLimiterRes): LimitState {
  return { policy, limit, windowS, remaining: Math.max(0, res.remainingPoints), resetS: secondsUntil(res.msBeforeNext) };
}

/** Whole seconds, at least 1: what `Retry-After` and `RateLimit-Reset` carry. */
export function secondsUntil(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

const STATES = 'rateLimitStates';

/**
 * Adds a limit to the answer's headers: every limit met so far in `RateLimit-Policy` and `RateLimit`
 * (draft-ietf-httpapi-ratelimit-headers), and `RateLimit-Limit`/`-Remaining`/`-Reset` for `primary`
 * (the limit that refused, else the first one met), as older clients read them.
 */
export function addRateLimitHeaders(res: Response, state: LimitState, primary = false): void {
  const states: LimitState[] = (res.locals[STATES] ??= []);
  states.push(state);
  res.setHeader('RateLimit-Policy', states.map((s) => `"${s.policy}";q=${s.limit};w=${s.windowS}`).join(', '));
  res.setHeader('RateLimit', states.map((s) => `"${s.policy}";r=${s.remaining};t=${s.resetS}`).join(', '));
  if (primary || states.length === 1) {
    res.setHeader('RateLimit-Limit', String(state.limit));
    res.setHeader('RateLimit-Remaining', String(state.remaining));
    res.setHeader('RateLimit-Reset', String(state.resetS));
  }
}
