import { BACKEND_STATES, backendBusyRatio, backendState, backendStuck, onScrape } from '@anime/pipeline';
import type { BackendPool } from './backend-pool';

/** A backend's label: its URL without credentials or path (COMFYUI_URLS may carry a password). */
export function backendLabel(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'unparsable';
  }
}

/** Reads the pool's backends into anime_backend_state, anime_backend_busy_ratio and anime_backend_stuck at each scrape; returns the undo. */
export function watchBackendMetrics(pool: Pick<BackendPool, 'snapshot'>): () => void {
  const collect = () => {
    backendState.reset();
    backendBusyRatio.reset();
    backendStuck.reset();
    for (const b of pool.snapshot()) {
      const backend = backendLabel(b.url);
      for (const state of BACKEND_STATES) backendState.set({ backend, state }, b.state === state ? 1 : 0);
      backendBusyRatio.set({ backend }, Math.min(1, b.inFlight / b.capacity));
      backendStuck.set({ backend }, b.stuck ? 1 : 0);
    }
  };
  const remove = onScrape('anime_backend_state', collect);
  return () => {
    remove();
    backendState.reset();
    backendBusyRatio.reset();
    backendStuck.reset();
  };
}
