import { Client } from 'pg';
import { ADMIN_URL } from './test-database';

/**
 * `pg_terminate_backend` for the connections to one (test) database, optionally only those waiting
 * on a lock; returns how many were terminated. Never point it at a database other tests use.
 */
export async function terminateBackends(databaseName: string, options: { waitingOnLock?: boolean; except?: number[] } = {}): Promise<number> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid() AND NOT (pid = ANY($2::int[]))
          AND ($3::boolean IS NOT TRUE OR wait_event_type = 'Lock')`,
      [databaseName, options.except ?? [], options.waitingOnLock ?? false],
    );
    return rows.filter((r) => r.terminated).length;
  } finally {
    await client.end();
  }
}
