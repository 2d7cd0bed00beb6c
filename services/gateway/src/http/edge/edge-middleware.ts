import cors from 'cors';
import { Router } from 'express';
import { securityHeaders } from '@anime/pipeline';
import { ApiError } from '../api-error';
import type { OriginPolicy } from './origin-policy';

// Headers a browser page may read from answers: where a resource is, when to retry, what it is.
export const EXPOSED_HEADERS = ['Location', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'X-Request-Id', 'Content-Disposition', 'ETag', 'X-Bundle-Omitted-References', 'X-Bundle-Restored-References', 'Idempotent-Replayed'];

/** Before any route: security headers on every answer, the Host and Origin rules, then CORS for listed origins. */
export function edgeMiddleware(policy: OriginPolicy): Router {
  const router = Router();
  router.use(securityHeaders());
  router.use((req, _res, next) => {
    const refusal = policy.refusalFor(req);
    next(refusal ? new ApiError(refusal.status, refusal.code, refusal.message) : undefined);
  });
  router.use(cors({ origin: (origin, done) => done(null, policy.isListed(origin)), exposedHeaders: EXPOSED_HEADERS, maxAge: 600 }));
  return router;
}
