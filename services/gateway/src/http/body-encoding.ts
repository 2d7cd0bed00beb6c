import type { Request } from 'express';

/** The Content-Encoding a request's body was sent in, lower-cased: `identity` when none is named. */
export function bodyEncoding(req: Request): string {
  return req.headers['content-encoding']?.trim().toLowerCase() || 'identity';
}
