/**
 * The Content-Security-Policy of a page the gateway serves (bull-board, Swagger UI) in place of the
 * API's `default-src 'none'`, under which a browser runs none of a page's scripts: its own scripts,
 * styles (inline ones too), data images and requests to this origin, never framed. `extra` adds
 * sources per directive (a page's web fonts, say) or replaces `default-src`.
 */
export function pagePolicy(extra: { defaultSrc?: string; styleSrc?: string[]; fontSrc?: string[] } = {}): string {
  return [
    `default-src ${extra.defaultSrc ?? "'none'"}`,
    "script-src 'self'",
    ["style-src 'self' 'unsafe-inline'", ...(extra.styleSrc ?? [])].join(' '),
    ...(extra.fontSrc ? [["font-src 'self'", ...extra.fontSrc].join(' ')] : []),
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join(';');
}
