/**
 * A URL's user name and password, wherever one sits in a text: `redis://app:pw@host:6379/0` becomes
 * `redis://***@host:6379/0`. REDIS_URL, DATABASE_URL and COMFYUI_URLS may carry a password, and the
 * messages that name a URL (a driver's error, `ComfyUI at <url> unreachable`) are logged and stored.
 * The userinfo runs to the last `@` before the host ends (a password may hold an unencoded `@`); a
 * quote ends it too, so within JSON it never reaches past one string.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*(?:@[^\s/?#@"'<>]*)*@/gi;

export function redactUrlCredentialsInText(text: string): string {
  return text.includes('://') ? text.replace(USERINFO, '$1***@') : text;
}
