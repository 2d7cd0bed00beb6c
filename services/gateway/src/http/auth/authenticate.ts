import type { RequestHandler } from 'express';
import { unauthenticated } from './auth-errors';
import type { KeyAuthenticator } from './authenticate-key';
import { bearerToken } from './bearer-token';

/** Every /api request: a valid key in `Authorization: Bearer`, else 401 with `WWW-Authenticate: Bearer`. */
export function authenticate(authenticateKey: KeyAuthenticator): RequestHandler {
  return async (req, res, next) => {
    try {
      const outcome = await authenticateKey(bearerToken(req.header('authorization')));
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
