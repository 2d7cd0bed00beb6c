/**
 * A URL as `pnpm start` prints it: its user name and password as `***` (`postgresql://***@host/db`),
 * as the services' logs write them. DATABASE_URL and COMFYUI_URLS may carry a password (a proxy's
 * Basic auth for ComfyUI), and this output lands in terminals, CI logs and journald.
 */
export function shownUrl(value: string, fallback: string): string {
  try {
    const url = new URL(value);
    if (!url.username && !url.password) return value;
    // A backslash ends the user information as a slash does (the parser reads it as one in http(s)).
    const shown = value.replace(/^([^:]+:\/\/)[^/?#\\]*@/, '$1***@');
    // A URL the parser reads leniently (`http:/user:pw@host`, `http:user:pw@host`) escapes the pattern: not printed.
    const again = new URL(shown);
    return again.username === '***' && !again.password && again.host === url.host ? shown : fallback;
  } catch {
    return fallback;
  }
}

/** The line that says the stack is up, and where. */
export function stackReadyLine(gatewayUrl: string, comfyUrls: string[]): string {
  return `stack ready: gateway ${gatewayUrl}, ComfyUI ${comfyUrls.map((url) => shownUrl(url, '(COMFYUI_URLS)')).join(', ')}`;
}
