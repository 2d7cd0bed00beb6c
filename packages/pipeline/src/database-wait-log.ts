import { LineEvery, type Logger } from '@anime/logger';

/** How often at most a stage worker says its jobs wait for PostgreSQL, while they do. */
export const DATABASE_WAIT_LINE_EVERY_MS = 60_000;

/**
 * The lines of stage jobs put back while PostgreSQL is away: every job of the queue comes back every
 * 5 s, and each used to log its end at info ("stage job ended without completing"), a line per job
 * per look for as long as the outage lasted. Now one warn line per interval per worker says how many
 * jobs were put back since the last, and each put-back is at debug.
 */
export function createDatabaseWaitLog(queue: string, retryMs: number, now: () => number = Date.now) {
  // The first put-back at once, then at most one line per interval.
  const lines = new LineEvery(DATABASE_WAIT_LINE_EVERY_MS, { now, atOnce: true });
  return (log: Logger, error: unknown): void => {
    const meta = { error: (error as Error)?.message ?? String(error), retryMs };
    const line = lines.occur();
    if (!line) {
      log.debug('stage job waits for PostgreSQL', meta);
      return;
    }
    log.warn('PostgreSQL unavailable: stage jobs wait for it, no try spent', { ...meta, queue, jobsPutBack: line.occurrences, everyS: DATABASE_WAIT_LINE_EVERY_MS / 1000 });
  };
}
