import { bearerToken } from '../auth/bearer-token';

/**
 * The API key of a request to the queue board: `Authorization: Bearer <key>` (scripts, tests) or
 * HTTP Basic with the key as the password (a browser: it asks once, then sends it with every
 * request of the page and of the board's own API calls). Basic needs no login page and no
 * cookie; the Origin checks of the edge middleware keep other sites from using it.
 */
export function boardCredential(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (!basic) return bearerToken(authorization);
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  return password || null;
}
