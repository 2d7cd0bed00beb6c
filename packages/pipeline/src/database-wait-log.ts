import type { Logger } from '@anime/logger';

/** How often at most a stage worker says its jobs wait for PostgreSQL, while they do. */
export const DATABASE_WAIT_LINE_EVERY_MS = 60_000;

/**
 * The lines of stage jobs put back while PostgreSQL is away: every job of the queue comes back every
 * 5 s, and each used to log its end at info ("stage job ended without completing"), a line per job
 * per look for as long as the outage lasted. Now one warn line per interval per worker says how many
 * jobs were put back since the last, and each put-back is at debug.
 */
export function createDatabaseWaitLog(queue: string, retryMs: number, now: () => number = Date.now) {
  let lineAt: number | undefined;
  let since = 0;
  return (log: Logger, error: unknown): void => {
    since += 1;
    const at = now();
    const meta = { error: (error as Error)?.message ?? String(error), retryMs };
    if (lineAt !== undefined && at - lineAt < DATABASE_WAIT_LINE_EVERY_MS) {
      log.debug('stage job waits for PostgreSQL', meta);
      return;
    }
    log.warn('PostgreSQL unavailable: stage jobs wait for it, no try spent', { ...meta, queue, jobsPutBack: since, everyS: DATABASE_WAIT_LINE_EVERY_MS / 1000 });
    lineAt = at;
    since = 0;
  };
}
