/**
 * Whether an error means PostgreSQL could not be reached or dropped the connection — a fault of the
 * moment, not of the query — so a caller may answer 503 and be tried again. The shapes are what
 * Prisma 7 over @prisma/adapter-pg actually throws (reproduced by `pg_terminate_backend` during
 * queries and by refused or closed TCP connections):
 * - PrismaClientKnownRequestError P1001 (unreachable), P1017 (server closed the connection) or P2028
 *   (a transaction that could not start in time: every pooled connection busy);
 * - P2039 / P2010 (raw) whose `meta.driverAdapterError.cause` holds the server's SQLSTATE (57P01…)
 *   or the adapter's kind (DatabaseNotReachable, ConnectionClosed, SocketTimeout);
 * - a bare DriverAdapterError `{ name, cause: { kind, code } }` (seen inside transactions);
 * - node-postgres' own plain Errors ("Connection terminated unexpectedly", "Client has encountered
 *   a connection error and is not queryable", a pool connect timeout, a statement past query_timeout)
 *   and socket errnos;
 * - a statement the server canceled (57014: past statement_timeout, or pg_cancel_backend) or whose
 *   lock wait it ended (55P03: past lock_timeout).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // A file system's errno (ETIMEDOUT from a soft network mount, say) shares a code with a socket's:
  // it is never PostgreSQL away.
  return causes(error).some((e) => !isFileSystemError(e) && looksUnavailable(e));
}

/**
 * Whether an error is one a file-system call failed with (a library file's read or write), never a
 * database connection's: it names a `path` (a socket's error names an `address`), or its `syscall` is
 * one only a file system is asked (an open, a stat, a mkdir…). A `read` or `write` naming no path is
 * not taken as one: a socket's read fails with that syscall too (ECONNRESET, a TCP keepalive's ETIMEDOUT).
 */
export function isFileSystemError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { path, syscall } = error as { path?: unknown; syscall?: unknown };
  return typeof path === 'string' || (typeof syscall === 'string' && FILE_SYSTEM_CALLS.has(syscall));
}
// libuv's names of the file-system calls (Node's `syscall` of an fs error), less `read` and `write`.
const FILE_SYSTEM_CALLS = new Set([
  'open', 'close', 'stat', 'lstat', 'fstat', 'statfs', 'access', 'scandir', 'opendir', 'readdir', 'closedir',
  'mkdir', 'mkdtemp', 'rmdir', 'rm', 'unlink', 'rename', 'copyfile', 'cp', 'link', 'symlink', 'readlink', 'realpath',
  'chmod', 'fchmod', 'lchmod', 'chown', 'fchown', 'lchown', 'utime', 'futime', 'lutime', 'fsync', 'fdatasync',
  'ftruncate', 'truncate', 'watch',
]);

// P1001 can't reach, P1002 reach timed out, P1008 operation timed out, P1017 server closed the connection,
// P2028 a transaction could not start (or ran out of time) while every pooled connection was busy:
// the database is saturated for the moment, which a burst of requests showed as a 500.
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2028']);
// Class 08 is "connection exception"; 57P01 admin_shutdown (pg_terminate_backend), 57P02 crash_shutdown,
// 57P03 cannot_connect_now (starting or in recovery), 57P05 idle_session_timeout, 53300 too_many_connections,
// 57014 query_canceled (statement_timeout, pg_cancel_backend), 55P03 lock_not_available (a lock held past lock_timeout,
// which createDb sets below the query timeout): the server could not finish it now, not a fault of the query.
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300', '57014', '55P03']);
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// node-postgres' words for a statement past query_timeout (createDb closes its connection).
const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Can't reach database server|Server has closed the connection|Query read timeout/;

/**
 * Whether an error is a statement PostgreSQL left unanswered past the query timeout (createDb):
 * unavailable, and not worth trying again at once (the same wait would most likely follow).
 */
export function isQueryTimeout(error: unknown): boolean {
  return causes(error).some((e) => typeof e.message === 'string' && e.message.includes(QUERY_TIMEOUT_MESSAGE));
}

/**
 * Whether an error is a wait that ran out: past the query timeout (isQueryTimeout), or a lock wait
 * PostgreSQL ended past lock_timeout (55P03). Unavailable, but not worth sending again at once: the
 * same wait would most likely follow, and the caller would wait twice, past the query timeout.
 */
export function isWaitExpired(error: unknown): boolean {
  return isQueryTimeout(error) || causes(error).some((e) => e.code === LOCK_NOT_AVAILABLE || e.originalCode === LOCK_NOT_AVAILABLE);
}
const LOCK_NOT_AVAILABLE = '55P03';

interface ErrorLike {
  code?: unknown;
  errorCode?: unknown;
  originalCode?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
}

function looksUnavailable(e: ErrorLike): boolean {
  for (const code of [e.code, e.errorCode, e.originalCode]) {
    if (typeof code !== 'string') continue;
    if (PRISMA_CODES.has(code) || SQLSTATES.has(code) || ERRNOS.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
  return typeof e.message === 'string' && PG_MESSAGES.test(e.message);
}

/** The error and what it wraps: `cause` chains and Prisma's `meta.driverAdapterError`. */
function causes(error: unknown): ErrorLike[] {
  const found: ErrorLike[] = [];
  const queue: unknown[] = [error];
  while (queue.length && found.length < 8) {
    const next = queue.shift();
    if (!next || typeof next !== 'object') continue;
    const e = next as ErrorLike;
    found.push(e);
    queue.push(e.cause, e.meta?.driverAdapterError);
  }
  return found;
}
