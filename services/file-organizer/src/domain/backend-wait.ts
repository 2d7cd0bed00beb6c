import { ComfyUnreachableError } from '@anime/comfyui-client';

/** What a proxy in front of ComfyUI answers while the ComfyUI behind it is down. */
const PROXY_SAYS_DOWN = new Set([502, 503, 504]);

/**
 * The backend holding the outputs cannot be reached at all: the connection refused, reset or cut,
 * no answer within the request timeout, or its proxy's 502/503/504. ComfyUI keeps its output files
 * on disk across a restart, so it may well come back with them. An answer (a 404: the file is gone,
 * a 500, a transfer that stalls or trickles) is not this: it fails or retries as any fault does.
 */
export function backendDown(error: unknown): error is ComfyUnreachableError {
  return error instanceof ComfyUnreachableError && (error.status === undefined || PROXY_SAYS_DOWN.has(error.status));
}

export interface BackendWait {
  /** How long filing waits for the backend, counted from when the filing job was queued (JOB_TIMEOUT_S). */
  limitMs: number;
  /** The longest time between two looks at a backend that is down. */
  maxStepMs: number;
}

/** The longest pause between two looks: also how late a cancel during the wait is noticed at worst. */
export const MAX_WAIT_STEP_MS = 15_000;

/**
 * When to look again, having waited `waitedMs` for the backend: after as long again (1 s, 2 s, 4 s…),
 * at most `maxStepMs`, never past the limit; undefined once the limit is reached (the stage's tries
 * then decide, as for any transient fault).
 */
export function nextLookInMs(waitedMs: number, wait: BackendWait): number | undefined {
  const left = wait.limitMs - waitedMs;
  if (left <= 0) return undefined;
  return Math.min(Math.max(waitedMs, 1_000), wait.maxStepMs, left);
}
