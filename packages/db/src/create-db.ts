import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client';
import { isQueryTimeout } from './database-unavailable';
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

/** The node-postgres pool under a Db made by createDb (the same connections Prisma uses). */
export type SqlPool = pg.Pool;

const pools = new WeakMap<Db, SqlPool>();
const queryTimeouts = new WeakMap<Db, number>();

/**
 * The pool under `db`, for hot-path statements that skip Prisma's query interpreter (a parameterized
 * `pool.query({ name, text, values })` is prepared once per connection). It is ended with the Db.
 */
export function poolOf(db: Db): SqlPool {
  const pool = pools.get(db);
  if (!pool) throw new Error('poolOf: this Db was not made by createDb');
  return pool;
}

/** How long a statement on `db` may go unanswered (createDb's queryTimeoutMs). */
export function queryTimeoutOf(db: Db): number {
  return queryTimeouts.get(db) ?? DEFAULT_QUERY_TIMEOUT_MS;
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
 * How long one statement may go unanswered (DATABASE_QUERY_TIMEOUT_MS): a PostgreSQL that stops
 * answering without closing its connections (a partition, a frozen host) would otherwise hold the
 * request, or the stage job and its lock, for as long as the partition lasts. Statements here are
 * short (by-id reads, capped listings, the lifecycle CTEs, milliseconds each on an idle server), so
 * this leaves room for a loaded one. Migrations run on their own client, without it.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

// Beyond the client's limit: the server ends a statement whose client gave up on it (the server
// would otherwise run it to the end), yet never cuts one first, so a timeout always reads the same.
const STATEMENT_TIMEOUT_MARGIN_MS = 1_000;

/**
 * How long a statement may wait for a lock (a row's, or an advisory lock such as a key's queue lock):
 * less than the client's limit, so PostgreSQL gives up the wait (55P03, unavailable) before the client
 * does. A wait outliving the client's timeout ran on unseen: once the lock came free (before
 * statement_timeout) its INSERT went ahead and committed, a generation written for a client that
 * had been answered 503.
 */
export function lockTimeoutOf(queryTimeoutMs: number): number {
  return queryTimeoutMs - Math.min(STATEMENT_TIMEOUT_MARGIN_MS, Math.floor(queryTimeoutMs / 4));
}

/**
 * How long a pooled connection may sit idle before the pool closes it. Each new connection costs
 * PostgreSQL a backend (fork, catalog caches) and re-plans every named statement on it (five custom
 * plans each before a generic one). At 5 s a 1,000-job bench backlog closed and reopened 15
 * connections, the pools shrinking between bursts; a connection kept a minute serves the next one.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface CreateDbOptions {
  max?: number;
  /** How long a statement may go unanswered before it fails as unavailable and its connection is closed (default DEFAULT_QUERY_TIMEOUT_MS). */
  queryTimeoutMs?: number;
  /** How long an idle pooled connection is kept before it is closed (default DEFAULT_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
}

/**
 * One Prisma client per process, over node-postgres (no native query engine needed). Reads that
 * meet a dropped connection are retried once; a connection attempt gives up after 5 s and a
 * statement after `queryTimeoutMs`, so a server that is unreachable or silent answers as an error
 * (503 upstream, a deferred stage) instead of a request or job that hangs.
 */
export function createDb(databaseUrl: string, options: CreateDbOptions = {}): Db {
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    idleTimeoutMillis: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    connectionTimeoutMillis: 5_000,
    // TCP keepalive after 10 s of quiet: a connection whose peer is gone is closed in the end rather
    // than kept; what bounds a statement is query_timeout below.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: queryTimeoutMs,
    statement_timeout: queryTimeoutMs + STATEMENT_TIMEOUT_MARGIN_MS,
    lock_timeout: lockTimeoutOf(queryTimeoutMs),
    types: PRISMA_LIKE_TYPES,
  });
  // pg-pool hands a new client to a promise-based `connect()` (the adapter's transactions) with no
  // 'error' listener until the awaiting code resumes; a backend terminated right after it connected
  // delivers ReadyForQuery and its FATAL in one packet, and the unhandled 'error' crashed the
  // process (reproduced with pg_terminate_backend in a loop). A listener for the client's whole
  // life closes that window; the error still fails the client's queries and the pool discards it.
  // An idle client's error (its backend terminated: a server restart, pg_terminate_backend, a
  // database dropped WITH (FORCE)) is re-emitted on the pool, and an 'error' no one listens to is
  // thrown: Prisma's adapter listens only once Prisma has connected, so a pool used before that
  // (poolOf) crashed its process. The pool has already let the client go; the next statement opens another.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    // Every statement goes through a pooled client's query(), pool.query() included: counted here once.
    const query = client.query as (...a: unknown[]) => unknown;
    client.query = function countedQuery(this: pg.PoolClient, ...args: unknown[]) {
      statements++;
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        // pool.query() passes a callback (and releases the client with the error it gets).
        const callback = args[last] as (error: unknown, result?: unknown) => void;
        args[last] = (error: unknown, result?: unknown) => {
          if (error) closeIfTimedOut(client, error);
          callback(error, result);
        };
        return query.apply(this, args);
      }
      const result = query.apply(this, args);
      if (!(result instanceof Promise)) return result;
      return result.catch((error: unknown) => {
        closeIfTimedOut(client, error);
        throw error;
      });
    } as typeof client.query;
  });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const db = retryReadsOnce(new PrismaClient({ adapter }));
  pools.set(db, pool);
  queryTimeouts.set(db, queryTimeoutMs);
  return db;
}

/**
 * node-postgres fails a statement past query_timeout but keeps its connection, still waiting for
 * the answer: the next statement on it would queue behind one that may never come. The connection
 * is closed instead (at once, not with a goodbye the silent server would never acknowledge), so
 * the client stops being queryable and the pool discards it, a transaction's client included.
 */
function closeIfTimedOut(client: pg.PoolClient, error: unknown): void {
  if (!isQueryTimeout(error)) return;
  (client as unknown as { connection?: { stream?: { destroy(error?: Error): void } } }).connection?.stream?.destroy(error as Error);
}
