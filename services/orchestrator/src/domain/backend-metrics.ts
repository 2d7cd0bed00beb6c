import { BACKEND_STATES, backendBusyRatio, backendState, onScrape } from '@anime/pipeline';
import type { BackendPool } from './backend-pool';

/** A backend's label: its URL without credentials or path (COMFYUI_URLS may carry a password). */
export function backendLabel(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'unparsable';
  }
}

/** Reads the pool's backends into anime_backend_state and anime_backend_busy_ratio at each scrape; returns the undo. */
export function watchBackendMetrics(pool: BackendPool): () => void {
  const collect = () => {
    backendState.reset();
    backendBusyRatio.reset();
    for (const b of pool.snapshot()) {
      const backend = backendLabel(b.url);
      for (const state of BACKEND_STATES) backendState.set({ backend, state }, b.state === state ? 1 : 0);
      backendBusyRatio.set({ backend }, Math.min(1, b.inFlight / b.capacity));
    }
  };
  const remove = onScrape('anime_backend_state', collect);
  return () => {
    remove();
    backendState.reset();
    backendBusyRatio.reset();
  };
}
