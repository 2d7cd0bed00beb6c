import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

/** An `x-request-id` the gateway takes from the client (a UUID, which it mints otherwise, matches it too). */
export const REQUEST_ID_PATTERN = /^[\w.-]{1,100}$/;

/**
 * Reuses or mints `x-request-id`, echoes it, and keeps it in `res.locals.requestId` for the request's log lines.
 * The app's first middleware: every answer Express gives carries it, errors and 404s included.
 */
export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.header('x-request-id');
  const id = incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  res.locals.requestId = id;
  next();
};
