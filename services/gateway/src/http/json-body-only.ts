import type { RequestHandler } from 'express';
import { ApiError } from './api-error';

/**
 * For the routes that take a JSON body: bytes sent as anything else (text/plain, a form, no type)
 * are a 415. express.json leaves such a body unread, and the route would otherwise refuse it field
 * by field as if it were empty. A request without body bytes passes whatever its type: a retry's
 * body is optional, and fetch sends `body: ''` as text/plain.
 */
export const jsonBodyOnly: RequestHandler = (req, _res, next) => {
  const carriesBytes = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!carriesBytes || req.is('application/json')) return next();
  next(new ApiError(415, 'unsupported_media_type', 'the body must be JSON, sent with Content-Type: application/json', { accepted: ['application/json'] }));
};
