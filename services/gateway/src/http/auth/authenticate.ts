import type { Request, RequestHandler, Response } from 'express';
import type { KeyRowFinder } from '@anime/api-keys';
import { unauthenticated } from './auth-errors';
import type { KeyAuthenticator } from './authenticate-key';
import { bearerToken } from './bearer-token';

/** The challenge of every 401 this sends (`WWW-Authenticate`). */
export const BEARER_CHALLENGE = 'Bearer realm="api"';

/**
 * Every /api request: a valid key in `Authorization: Bearer`, else 401 with `WWW-Authenticate: Bearer`.
 * `finderFor` may pick, per request, a statement reading the key together with what the request needs
 * next (the key's row is read either way, on every request).
 */
export function authenticate(authenticateKey: KeyAuthenticator, finderFor?: (req: Request, res: Response) => KeyRowFinder | undefined): RequestHandler {
  return async (req, res, next) => {
    try {
      // Node keeps only the first of several Authorization headers; a proxy in front may honour
      // another. Two credentials are ambiguous: neither is picked (AUTH_MODE=off reads none).
      const headers = req.headersDistinct.authorization ?? [];
      const outcome = await authenticateKey(bearerToken(headers[0]), finderFor?.(req, res));
      const ambiguous = headers.length > 1 && ('refused' in outcome || outcome.caller.keyId !== null);
      if (ambiguous || 'refused' in outcome) {
        res.setHeader('WWW-Authenticate', BEARER_CHALLENGE);
        return next(unauthenticated(ambiguous ? `send one Authorization header, not ${headers.length}` : (outcome as { refused: string }).refused));
      }
      res.locals.caller = outcome.caller;
      next();
    } catch (error) {
      next(error);
    }
  };
}
