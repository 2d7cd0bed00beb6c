import type { ApiClient } from './api-client';
import { GatewayAwayError } from './gateway-away';

/** How long in all a read is asked again: a gateway restart, or a rolling deploy's switch, takes seconds. */
export const RIDE_OUT_MS = 30_000;
/** The first pause between two tries, doubled after each up to the last (a Retry-After longer than it wins). */
const FIRST_PAUSE_MS = 250;
const LONGEST_PAUSE_MS = 2_000;

export interface RideOut {
  /** How long in all (default RIDE_OUT_MS). */
  withinMs?: number;
  /** Told once, at the first failure asked again: why (short), and for how long at most. */
  onWaiting?: (reason: string, withinMs: number) => void;
}

/**
 * A GET (idempotent: only reads are ever asked again) that rides out a gateway away for a moment: a
 * connection refused or cut, a 502/503/504 (its Retry-After respected), is asked again until `withinMs`
 * have passed; then, or for any other failure, the request's own error is thrown, as `api.get` throws it.
 */
export async function getThroughRestart<T>(api: ApiClient, path: string, { withinMs = RIDE_OUT_MS, onWaiting }: RideOut = {}): Promise<T> {
  const deadline = Date.now() + withinMs;
  let pause = FIRST_PAUSE_MS;
  let told = false;
  for (;;) {
    try {
      return await api.get<T>(path);
    } catch (error) {
      if (!(error instanceof GatewayAwayError)) throw error;
      // Never asked again before its Retry-After, nor past the bound: then said, as it is.
      const left = deadline - Date.now();
      const after = error.retryAfterMs ?? 0;
      if (left <= 0 || after > left) throw error;
      const wait = Math.min(Math.max(after, pause), left);
      if (!told) onWaiting?.(error.reason, withinMs);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, wait));
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }
}
