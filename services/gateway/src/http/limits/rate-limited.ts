import type { Response } from 'express';
import { ApiError } from '../api-error';

/** 429 with `Retry-After` (whole seconds, ≥ 1). */
export function tooMany(res: Response, code: 'rate_limited' | 'queue_full', retryAfterS: number, message: string, details?: unknown): ApiError {
  res.setHeader('Retry-After', String(retryAfterS));
  return new ApiError(429, code, message, details);
}
