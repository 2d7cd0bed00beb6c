/**
 * A ComfyUI base URL as messages quote it: its user name and password (a proxy's Basic auth in
 * COMFYUI_URLS) as `***`. The messages become log lines, BullMQ's failedReason (bull-board shows it to
 * `read` keys), generations' errors and backends' lastError; only the requests carry the credentials.
 */
export function shownUrl(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    if (!url.username && !url.password) return baseUrl;
    return `${url.protocol}//***@${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return baseUrl;
  }
}
