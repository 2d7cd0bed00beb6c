import type { RequestHandler } from 'express';
import { isStorableText } from '@anime/contracts';
import { ApiError } from './api-error';

// Well above anything a route takes; querystring itself stops at 1000 keys silently.
const MAX_QUERY_PARAMETERS = 100;

/**
 * Checks the raw query string once, before any route: every name and value must be valid
 * percent-encoded UTF-8 and storable text (no NUL, no lone surrogate). The `simple` query parser
 * decodes leniently (a bad `%` stays as it is, bad UTF-8 becomes U+FFFD), so this strict pass is
 * what turns such input into a 400 instead of a value no route expected.
 */
export const queryGuard: RequestHandler = (req, _res, next) => {
  const at = req.originalUrl.indexOf('?');
  if (at < 0) return next();
  const pairs = req.originalUrl.slice(at + 1).split('&').filter((pair) => pair !== '');
  if (pairs.length > MAX_QUERY_PARAMETERS) {
    return next(refusal('(query)', `more than ${MAX_QUERY_PARAMETERS} query parameters`));
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    for (const raw of eq < 0 ? [pair] : [pair.slice(0, eq), pair.slice(eq + 1)]) {
      let text: string;
      try {
        text = decodeURIComponent(raw.replaceAll('+', ' '));
      } catch {
        return next(refusal(safeName(pair, eq), 'is not valid percent-encoded UTF-8'));
      }
      if (!isStorableText(text)) return next(refusal(safeName(pair, eq), 'must not contain NUL characters or lone UTF-16 surrogates'));
    }
  }
  next();
};

function refusal(path: string, message: string): ApiError {
  return new ApiError(400, 'validation_failed', `invalid query: ${path}: ${message}`, [{ path, message }]);
}

// The parameter's name as the client wrote it, when it can be shown as it is.
function safeName(pair: string, eq: number): string {
  const name = eq < 0 ? pair : pair.slice(0, eq);
  try {
    const decoded = decodeURIComponent(name);
    return isStorableText(decoded) && decoded.length <= 100 ? decoded : '(query)';
  } catch {
    return '(query)';
  }
}
