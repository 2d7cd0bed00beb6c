import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * The headers every HTTP answer of every service carries (helmet). These servers answer JSON,
 * files and metrics, never pages: the policy forbids any active content and any framing, so a
 * stored image with an HTML tail cannot run as a page (with `nosniff`, it stays an image).
 * HSTS is left to the TLS terminator in front, which knows whether HTTPS is in use.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}

/** The same essentials as plain headers, for answers written outside Express (Socket.IO's transport). */
export const ESSENTIAL_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': "default-src 'none';frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
});
