import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client';
import { retryReadsOnce } from './retry-reads';

export type Db = PrismaClient;

let statements = 0;

/**
 * Statements this process sent to PostgreSQL through every createDb pool so far (BEGIN and COMMIT
 * included): what `pnpm bench` divides by jobs, served as anime_db_statements_total.
 */
export function databaseStatements(): number {
  return statements;
}

/**
 * One Prisma client per process, over node-postgres (no native query engine needed). Reads that
 * meet a dropped connection are retried once; a connection attempt gives up after 5 s so an
 * unreachable server answers as an error (503 upstream) instead of a request that hangs.
 */
export function createDb(databaseUrl: string, options: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10, idleTimeoutMillis: 5_000, connectionTimeoutMillis: 5_000 });
  // pg-pool hands a new client to a promise-based `connect()` (the adapter's transactions) with no
  // 'error' listener until the awaiting code resumes; a backend terminated right after it connected
  // delivers ReadyForQuery and its FATAL in one packet, and the unhandled 'error' crashed the
  // process (reproduced with pg_terminate_backend in a loop). A listener for the client's whole
  // life closes that window; the error still fails the client's queries and the pool discards it.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    // Every statement goes through a pooled client's query(), pool.query() included: counted here once.
    const query = client.query;
    client.query = function countedQuery(this: pg.PoolClient, ...args: unknown[]) {
      statements++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof client.query;
  });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  return retryReadsOnce(new PrismaClient({ adapter }));
}
