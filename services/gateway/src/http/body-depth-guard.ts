import type { RequestHandler } from 'express';
import { jsonDeeperThan, MAX_JSON_DEPTH } from '@anime/contracts';
import { ApiError } from './api-error';

/** Refuses, once for every route, a JSON body nested deeper than MAX_JSON_DEPTH (see jsonDeeperThan). */
export const bodyDepthGuard: RequestHandler = (req, _res, next) => {
  if (req.body !== undefined && jsonDeeperThan(req.body)) {
    const message = `nested deeper than ${MAX_JSON_DEPTH} levels`;
    return next(new ApiError(400, 'validation_failed', `invalid request body: ${message}`, [{ path: '(body)', message }]));
  }
  next();
};
