import type { Request } from 'express';
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeySchema } from '@anime/contracts';
import { ApiError } from './api-error';
import { parseOr400 } from './parse-body';

const HEADER_NAME = IDEMPOTENCY_KEY_HEADER.toLowerCase();
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const refused = (message: string) => new ApiError(400, 'validation_failed', `invalid ${IDEMPOTENCY_KEY_HEADER} header: ${message}`, [{ path: IDEMPOTENCY_KEY_HEADER, message }]);

/**
 * The request's Idempotency-Key, or undefined when it sent none. Node hands a header's bytes over
 * as Latin-1 (it refuses NUL itself); they are read as the UTF-8 they are, so a key `é` is stored,
 * shown and found (`?requestId=`) as `é`. Bytes that are no UTF-8 (an encoded lone surrogate too), a
 * key sent twice, or one outside the contract's bounds: 400 validation_failed naming the header.
 */
export function idempotencyKeyOf(req: Request): string | undefined {
  // headersDistinct is built on first use: not on the hot path of a request without the header.
  if (req.headers[HEADER_NAME] === undefined) return undefined;
  const sent = req.headersDistinct[HEADER_NAME];
  if (!sent) return undefined;
  // Node joins repeated headers with ", ", which would make two keys one.
  if (sent.length > 1) throw refused('send it once');
  let key: string;
  try {
    key = utf8.decode(Buffer.from(sent[0], 'latin1'));
  } catch {
    throw refused('must be UTF-8 text');
  }
  return parseOr400(idempotencyKeySchema, key, `${IDEMPOTENCY_KEY_HEADER} header`, IDEMPOTENCY_KEY_HEADER);
}
