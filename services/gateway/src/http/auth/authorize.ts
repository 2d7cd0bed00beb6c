import { grants } from '@anime/contracts';
import type { RequestHandler } from 'express';
import { insufficientScope } from './auth-errors';
import { callerOf } from './caller';
import { requiredScopes } from './route-scopes';

/** 403 `insufficient_scope` naming the first scope the caller's key lacks (see route-scopes.ts). */
export const authorize: RequestHandler = (req, res, next) => {
  const caller = callerOf(res);
  const missing = requiredScopes(req.method, req.baseUrl + req.path, req.body).find((scope) => !grants(caller.scopes, scope));
  next(missing ? insufficientScope(missing) : undefined);
};
