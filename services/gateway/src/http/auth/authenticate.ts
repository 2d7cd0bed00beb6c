import type { Request, RequestHandler, Response } from 'express';
import type { KeyRowFinder } from '@anime/api-keys';
import { unauthenticated } from './auth-errors';
import type { KeyAuthenticator } from './authenticate-key';
import { bearerToken } from './bearer-token';

/**
 * Every /api request: a valid key in `Authorization: Bearer`, else 401 with `WWW-Authenticate: Bearer`.
 * `finderFor` may pick, per request, a statement reading the key together with what the request needs
 * next (the key's row is read either way, on every request).
 */
export function authenticate(authenticateKey: KeyAuthenticator, finderFor?: (req: Request, res: Response) => KeyRowFinder | undefined): RequestHandler {
  return async (req, res, next) => {
    try {
      const outcome = await authenticateKey(bearerToken(req.header('authorization')), finderFor?.(req, res));
      if ('refused' in outcome) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="api"');
        return next(unauthenticated(outcome.refused));
      }
      res.locals.caller = outcome.caller;
      next();
    } catch (error) {
      next(error);
    }
  };
}
