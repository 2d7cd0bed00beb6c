import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './api-error';

const MESSAGE = 'is not valid UTF-8';

/**
 * express.json's `verify`, on the body's bytes once inflated: a body read as UTF-8 must be UTF-8.
 * The parser would decode each bad byte to U+FFFD and the replacement would be stored as if the
 * client had sent it; a query with such bytes is refused the same way (query-guard.ts). Thrown with
 * its own status, the ApiError passes through body-parser as it is (any other error becomes a 403).
 */
export function refuseInvalidUtf8(_req: IncomingMessage, _res: ServerResponse, body: Buffer, encoding: string): void {
  if (encoding === 'utf-8' && !isUtf8(body)) {
    throw new ApiError(400, 'validation_failed', `invalid request body: ${MESSAGE}`, [{ path: '(body)', message: MESSAGE }]);
  }
}
