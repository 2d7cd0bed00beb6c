import { isDatabaseUnavailable, type Db } from '@anime/db';
import type { Logger } from '@anime/logger';

/** How often an unreachable PostgreSQL is asked again at start, and how often the wait is logged. */
const RETRY_MS = 1_000;
const LOG_EVERY_MS = 30_000;

/**
 * A service's first words with PostgreSQL: waits while it cannot be reached (a database still
 * starting, a rollout where the pods come up before it, a network not there yet), as Redis being
 * down is waited for, rather than exiting at once and leaving the restart to a supervisor's
 * backoff. A fault that waiting cannot mend (a refused login, a database that does not exist)
 * stops the start, naming DATABASE_URL (never its value) and PostgreSQL's reason, as REDIS_URL's
 * refusals are named (redis-start-check.ts).
 */
export async function waitForDatabaseAtStart(db: Db, log: Logger, retryMs = RETRY_MS): Promise<void> {
  let loggedAt = 0;
  for (;;) {
    try {
      await db.$queryRaw`SELECT 1`;
      if (loggedAt) log.info('database answers: starting');
      return;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw new Error(`DATABASE_URL: PostgreSQL refused the connection (${refusalOf(error)})`);
      if (Date.now() - loggedAt >= LOG_EVERY_MS) {
        log.warn('database not answering at start: waiting for it', { error: (error as Error).message });
        loggedAt = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
}

/**
 * PostgreSQL's own words (`database "x" does not exist`, `password authentication failed for user
 * "y"`) and its SQLSTATE, rather than Prisma's multi-line "Invalid `prisma.$queryRaw()` invocation".
 * PostgreSQL never repeats the password in them.
 */
function refusalOf(error: unknown): string {
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; originalMessage?: unknown } } } } | undefined)?.meta?.driverAdapterError?.cause;
  if (typeof cause?.originalMessage === 'string') {
    return typeof cause.originalCode === 'string' ? `${cause.originalMessage}; SQLSTATE ${cause.originalCode}` : cause.originalMessage;
  }
  return String((error as Error)?.message ?? error).trim();
}
