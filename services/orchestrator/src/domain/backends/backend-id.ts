import { createHash } from 'node:crypto';

/** The URL as ComfyUI serves it, so `http://Host:8188/` and `http://host:8188` are one backend. */
export function normaliseBackendUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
}

/**
 * A backend's public id: a short hash of its normalised URL, so it stays the same across restarts
 * and configuration reorders, and the gateway can address it without knowing COMFYUI_URLS.
 */
export function backendIdFor(url: string): string {
  return createHash('sha256').update(normaliseBackendUrl(url)).digest('hex').slice(0, 12);
}
