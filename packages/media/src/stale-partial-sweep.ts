import { removeStalePartials, type RemoveStalePartialsOptions } from './remove-stale-partials';

/** The lines the sweep writes (a service's Logger fits). */
export interface SweepLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface StalePartialSweep {
  /** Settles once the sweep has ended: done, failed (logged) or stopped. Never rejects. */
  done: Promise<void>;
  /** Stops the sweep: once this resolves, it removes nothing more. Safe to call more than once. */
  stop(): Promise<void>;
}

export type StalePartialSweepOptions = Omit<RemoveStalePartialsOptions, 'signal'>;

/**
 * Runs removeStalePartials over the library in the background, so that a library of millions of
 * files never holds a service's start: the caller is ready while the sweep walks. Its end is
 * logged with the count removed; an error is logged, never thrown; `stop()` (a service's shutdown)
 * ends it before anything it relies on is closed.
 */
export function sweepStalePartialsInBackground(root: string, log: SweepLog, options: StalePartialSweepOptions = {}): StalePartialSweep {
  const controller = new AbortController();
  const began = Date.now();
  const done = (async () => {
    try {
      const removed = await removeStalePartials(root, { ...options, signal: controller.signal });
      const fields = { count: removed.length, ms: Date.now() - began };
      // A write killed between open and rename leaves a temp file nothing else would remove.
      if (controller.signal.aborted) log.info('stale partial library files sweep stopped', fields);
      else log.info('stale partial library files removed', fields);
    } catch (error) {
      log.error('stale partial library files sweep failed', { error: (error as Error).message, ms: Date.now() - began });
    }
  })();
  return {
    done,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}
