import type { Request } from 'express';
import { bodyEncoding } from './body-encoding';

/**
 * The Content-Encoding a body the JSON parser refused was sent in, when the refusal is that its bytes
 * could not be decompressed (gzip, deflate or brotli garbage, a truncated stream); else null. The
 * parser passes zlib's error on as a bare 400 ("incorrect header check", or "Bad Request" when the
 * error is not an `Error` of this realm), with none of the `type`s it gives its own refusals; zlib's
 * errors carry their `code` (Z_DATA_ERROR, Z_BUF_ERROR, ERR__ERROR_FORMAT_PADDING_1) and `errno` either way.
 */
export function undecodableBodyEncoding(error: unknown, req: Request): string | null {
  const encoding = bodyEncoding(req);
  if (encoding === 'identity' || typeof error !== 'object' || error === null) return null;
  const { status, type, code, errno } = error as { status?: unknown; type?: unknown; code?: unknown; errno?: unknown };
  return status === 400 && type === undefined && typeof code === 'string' && typeof errno === 'number' ? encoding : null;
}
