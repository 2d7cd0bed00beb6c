// The file itself, not the package's index: `pnpm start`'s bundle loads no third-party package (the
// root package.json declares none), and the index of @anime/contracts loads zod.
import { shownUrl } from '@anime/contracts/src/shown-url';

/**
 * A URL as `pnpm start` prints it (the migrations' DATABASE_URL, COMFYUI_URLS in the ready line):
 * its user name and password as `***`, as the services' log lines write them; one it cannot show so
 * is printed as `fallback`. This output lands in terminals, CI logs and journald.
 */
export { shownUrl };

/** The line that says the stack is up, and where. */
export function stackReadyLine(gatewayUrl: string, comfyUrls: string[]): string {
  return `stack ready: gateway ${gatewayUrl}, ComfyUI ${comfyUrls.map((url) => shownUrl(url, '(COMFYUI_URLS)')).join(', ')}`;
}
