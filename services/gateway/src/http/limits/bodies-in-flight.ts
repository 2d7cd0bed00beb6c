import type { RequestHandler } from 'express';
import { countRateLimitRefusal } from '@anime/pipeline';
import { rateLimitKey } from './rate-limit-key';
import { tooMany } from './rate-limited';

/** Seconds a refused request is asked to wait: a body under way usually ends within that. */
export const BODIES_RETRY_AFTER_S = 1;

/**
 * At most `max` requests per key (per client IP without one) whose body is still arriving. Bodies
 * are held in memory until whole (JSON up to 1 MB, a reference image up to REFERENCE_MAX_BYTES), and
 * the request rate alone let one key keep hundreds open, each stalled just short of its end until
 * its deadline (30 s; uploads 5 min): 30 stalled uploads held 570 MB of the gateway. A body already
 * whole when the request gets here, as any small one is, is not counted.
 */
export function bodiesInFlightLimit(max: number): RequestHandler {
  const arriving = new Map<string, number>();
  return (req, res, next) => {
    if (req.complete) return next();
    const key = rateLimitKey(req, res);
    const count = arriving.get(key) ?? 0;
    if (count >= max) {
      countRateLimitRefusal('bodies_in_flight');
      // Read and dropped, so the client gets its 429 rather than a reset; nothing of it is kept.
      req.resume();
      return next(
        tooMany(res, 'rate_limited', BODIES_RETRY_AFTER_S, `at most ${max} request bodies of one key may be arriving at once (REQUEST_BODIES_PER_KEY); send this one once another has ended`, {
          reason: 'bodies_in_flight',
          limit: max,
          retryAfterSeconds: BODIES_RETRY_AFTER_S,
        }),
      );
    }
    arriving.set(key, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (arriving.get(key) ?? 1) - 1;
      if (left > 0) arriving.set(key, left);
      else arriving.delete(key);
    };
    req.once('end', release);
    req.once('close', release);
    res.once('close', release);
    next();
  };
}
