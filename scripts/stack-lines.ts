/**
 * A URL as `pnpm start` prints it: its user name and password as `***` (`postgresql://***@host/db`),
 * as the services' logs write them. DATABASE_URL and COMFYUI_URLS may carry a password (a proxy's
 * Basic auth for ComfyUI), and this output lands in terminals, CI logs and journald.
 */
export function shownUrl(value: string, fallback: string): string {
  try {
    const url = new URL(value);
    if (!url.username && !url.password) return value;
    return value.replace(/^([^:]+:\/\/)[^/?#]*@/, '$1***@');
  } catch {
    return fallback;
  }
}

/** The line that says the stack is up, and where. */
export function stackReadyLine(gatewayUrl: string, comfyUrls: string[]): string {
  return `stack ready: gateway ${gatewayUrl}, ComfyUI ${comfyUrls.map((url) => shownUrl(url, '(COMFYUI_URLS)')).join(', ')}`;
}
