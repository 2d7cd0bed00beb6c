import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { withContext } from '@anime/logger';

/** Reuses or mints `x-request-id`, echoes it, and carries it into every log line of the request. */
export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.header('x-request-id');
  const id = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  res.locals.requestId = id;
  withContext({ requestId: id, correlationId: id }, next);
};
