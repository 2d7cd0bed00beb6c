import { FirstOccurrences, LineEvery, type Logger } from '@anime/logger';

/** How often at most a process says how many filings wait, while any do. */
export const WAIT_SUMMARY_INTERVAL_MS = 60_000;
/** A filing not seen looking for this long waits no more here (filed, failed, or taken by another process). */
const FORGOTTEN_AFTER_MS = 5 * 60_000;
/** Filings remembered at most: past it the oldest are forgotten (their next look is logged as a first wait again). */
const REMEMBERED = 100_000;

export interface WaitLog {
  /**
   * A look of filing `id` that waits on for `reason`, logged to its job's logger: its first (this process has not seen it wait)
   * is logged at info, a later one at debug, and at most once per interval one info line says how
   * many filings wait, for each reason. Each look used to be logged at info: a backlog of thousands
   * waiting out an hour-long outage wrote a line per filing every 15 s.
   */
  look(jobLog: Logger, id: string, reason: string, message: string, meta: Record<string, unknown>): void;
  /** Filing `id` waits no more (filed, given up, canceled). */
  end(id: string): void;
}

export function createWaitLog(log: Logger, options: { intervalMs?: number; now?: () => number } = {}): WaitLog {
  const intervalMs = options.intervalMs ?? WAIT_SUMMARY_INTERVAL_MS;
  // Filing id → its reason: a new reason (the backend came back, then the library refused) is news too.
  const waiting = new FirstOccurrences({ now: options.now, remembered: REMEMBERED });
  // From the first look on (again once none waits), a summary once per interval.
  const summary = new LineEvery(intervalMs, { now: options.now, atOnce: false });

  function summarize(): void {
    if (!summary.occur()) return;
    for (const [reason, count] of waiting.sweep(FORGOTTEN_AFTER_MS)) log.info(`${count} ${count === 1 ? 'filing waits' : 'filings wait'}: ${reason}`, { waiting: count, reason, everyS: Math.round(intervalMs / 1000) });
  }

  return {
    look(jobLog, id, reason, message, meta) {
      jobLog.log(waiting.occur(id, reason) ? 'info' : 'debug', message, meta);
      summarize();
    },
    end(id) {
      waiting.forget(id);
      if (waiting.size === 0) summary.reset();
    },
  };
}
