import { removeStalePartials, type RemoveStalePartialsOptions } from './remove-stale-partials';

/**
 * The wait from the end of one sweep to the start of the next while a service runs. A temp file a
 * killed write left behind (and no later write of the same path removed) goes within about this
 * much past PARTIAL_GRACE_MS, without a restart; one walk of a year's library takes seconds.
 */
export const STALE_PARTIAL_SWEEP_INTERVAL_MS = 60 * 60_000;

/** The lines the sweep writes (a service's Logger fits). */
export interface SweepLog {
  info(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface StalePartialSweep {
  /** Settles once the first sweep (the one right after start) has ended: done, failed (logged) or stopped. Never rejects. */
  done: Promise<void>;
  /** Stops the sweeps: once this resolves, none runs and nothing more is removed. Safe to call more than once. */
  stop(): Promise<void>;
}

/** Each sweep counts the grace from its own start, so `now` is not taken. */
export interface StalePartialSweepOptions extends Omit<RemoveStalePartialsOptions, 'signal' | 'now'> {
  /** The wait from one sweep's end to the next one's start (default STALE_PARTIAL_SWEEP_INTERVAL_MS). */
  intervalMs?: number;
}

/**
 * Runs removeStalePartials over the library in the background, at once and then again every
 * `intervalMs` for as long as the service runs, so that a library of millions of files never holds
 * a service's start and a leftover never outlives a stack that is not restarted. One sweep at a
 * time: the next is scheduled once the previous has ended, on a timer that keeps no process alive.
 * Each end is logged with the count removed; an error is logged, never thrown, and the next sweep
 * still comes. `stop()` (a service's shutdown) ends a sweep under way and cancels the next, before
 * anything it relies on is closed. Several replicas may sweep the same library at once: each only
 * removes files older than the grace, so no live write is hit.
 */
export function sweepStalePartialsInBackground(root: string, log: SweepLog, options: StalePartialSweepOptions = {}): StalePartialSweep {
  const { intervalMs = STALE_PARTIAL_SWEEP_INTERVAL_MS, ...sweepOptions } = options;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // The sweep under way, or the last one ended while the next waits for its timer.
  let current: Promise<void> = Promise.resolve();

  const sweepOnce = async () => {
    const began = Date.now();
    try {
      const removed = await removeStalePartials(root, { ...sweepOptions, now: began, signal: controller.signal });
      const fields = { count: removed.length, ms: Date.now() - began };
      // A write killed between open and rename leaves a temp file nothing else would remove.
      if (controller.signal.aborted) log.info('stale partial library files sweep stopped', fields);
      else log.info('stale partial library files removed', fields);
    } catch (error) {
      log.error('stale partial library files sweep failed', { error: (error as Error).message, ms: Date.now() - began });
    }
  };
  const scheduleNext = () => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      timer = undefined;
      current = sweepOnce().then(scheduleNext);
    }, intervalMs);
    timer.unref();
  };

  const done = sweepOnce();
  current = done.then(scheduleNext);
  return {
    done,
    stop: async () => {
      controller.abort();
      if (timer) clearTimeout(timer);
      timer = undefined;
      await current;
    },
  };
}
