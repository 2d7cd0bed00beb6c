import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client';
import { retryReadsOnce } from './retry-reads';

export type Db = PrismaClient;

/** The node-postgres pool under a Db made by createDb (the same connections Prisma uses). */
export type SqlPool = pg.Pool;

const pools = new WeakMap<Db, SqlPool>();

/**
 * The pool under `db`, for hot-path statements that skip Prisma's query interpreter (a parameterized
 * `pool.query({ name, text, values })` is prepared once per connection). It is ended with the Db.
 */
export function poolOf(db: Db): SqlPool {
  const pool = pools.get(db);
  if (!pool) throw new Error('poolOf: this Db was not made by createDb');
  return pool;
}

const { TIMESTAMP, INT8 } = pg.types.builtins;

/**
 * Values as Prisma returns them, for statements run on the pool (poolOf): a `timestamp(3)` column
 * holds UTC (Prisma writes `new Date()` so), not the process's local time node-postgres assumes,
 * and BIGINT is a bigint. The Prisma adapter passes its own parsers with every query, so this
 * changes nothing for Prisma.
 */
const PRISMA_LIKE_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary' && oid === TIMESTAMP) return (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
    if (format !== 'binary' && oid === INT8) return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as typeof pg.types.getTypeParser,
};

/**
 * One Prisma client per process, over node-postgres (no native query engine needed). Reads that
 * meet a dropped connection are retried once; a connection attempt gives up after 5 s so an
 * unreachable server answers as an error (503 upstream) instead of a request that hangs.
 */
export function createDb(databaseUrl: string, options: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10, idleTimeoutMillis: 5_000, connectionTimeoutMillis: 5_000, types: PRISMA_LIKE_TYPES });
  // pg-pool hands a new client to a promise-based `connect()` (the adapter's transactions) with no
  // 'error' listener until the awaiting code resumes; a backend terminated right after it connected
  // delivers ReadyForQuery and its FATAL in one packet, and the unhandled 'error' crashed the
  // process (reproduced with pg_terminate_backend in a loop). A listener for the client's whole
  // life closes that window; the error still fails the client's queries and the pool discards it.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const db = retryReadsOnce(new PrismaClient({ adapter }));
  pools.set(db, pool);
  return db;
}
