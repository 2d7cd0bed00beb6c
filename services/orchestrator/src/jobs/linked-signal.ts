/** A signal following several others, and the way to stop following them. */
export interface LinkedSignal {
  signal: AbortSignal;
  /** Stops listening to the sources (idempotent): call it when the work the signal guards ends. */
  dispose(): void;
}

/**
 * A signal that aborts, with its reason, when the first of `sources` does (undefined ones are
 * skipped). Unlike AbortSignal.any, nothing of it stays on a source once disposed: Node 20's
 * AbortSignal.any adds an entry to each source's set of dependants that is never taken out, so a
 * long-lived source (a backend's `lost`, listened to by every job run there) grew by one per job.
 */
export function linkSignals(sources: readonly (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const present = sources.filter((s): s is AbortSignal => s !== undefined);
  const already = present.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return { signal: controller.signal, dispose: () => undefined };
  }
  const onAbort = (event: Event) => {
    dispose();
    controller.abort((event.target as AbortSignal).reason);
  };
  const dispose = () => {
    for (const source of present) source.removeEventListener('abort', onAbort);
  };
  for (const source of present) source.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose };
}
