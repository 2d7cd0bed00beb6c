import type { PrismaClient } from './generated/prisma/client';
import { isDatabaseUnavailable, isWaitExpired } from './database-unavailable';

const READ_OPERATIONS = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany', 'count', 'aggregate', 'groupBy']);

// A raw statement is retried only when it reads: a plain SELECT without locks, sequences, advisory
// locks or other functions whose effect would happen twice. Anything unsure is treated as a write.
const SELECT = /^\s*select\b/i;
const SIDE_EFFECTS = /\b(for\s+(update|share|no\s+key\s+update|key\s+share)|into|nextval|setval|pg_advisory\w*|pg_notify|pg_terminate_backend|pg_cancel_backend|set_config|lo_\w+)\b/i;

function rawSql(operation: string, args: unknown): string | null {
  if (operation === '$queryRaw') return ((args as { strings?: string[] })?.strings ?? []).join('?');
  if (operation === '$queryRawUnsafe') return Array.isArray(args) && typeof args[0] === 'string' ? args[0] : null;
  return null;
}

/** Whether running the operation twice is the same as running it once. */
export function isIdempotentRead(operation: string, args: unknown): boolean {
  if (READ_OPERATIONS.has(operation)) return true;
  const sql = rawSql(operation, args);
  return sql !== null && SELECT.test(sql) && !SIDE_EFFECTS.test(sql);
}

/**
 * Retries, once, a read that met a dropped or refused connection: PostgreSQL restarting or an
 * administrator terminating backends kills the pooled connection under a query that would succeed
 * on a fresh one. Writes are never retried (the first may have committed before the connection
 * died), nor is anything inside a transaction (its connection, and so the transaction, is gone),
 * nor a read the server left unanswered past the query timeout: a server that is silent (a
 * partition) would hold the caller for a second full timeout before the same answer; nor one whose
 * lock wait ran out (lock_timeout, 55P03): a second wait on the same lock would follow.
 */
export function retryReadsOnce(client: PrismaClient, onRetry?: (operation: string, model: string | undefined) => void): PrismaClient {
  const extended = client.$extends({
    name: 'retry-reads-once',
    query: {
      async $allOperations(params) {
        const { model, operation, args, query } = params;
        try {
          return await query(args);
        } catch (error) {
          // Not public API, but the only sign of a transaction: Prisma sets it for interactive and batch ones.
          const inTransaction = (params as { __internalParams?: { transaction?: unknown } }).__internalParams?.transaction !== undefined;
          if (inTransaction || !isDatabaseUnavailable(error) || isWaitExpired(error) || !isIdempotentRead(operation, args)) throw error;
          onRetry?.(operation, model);
          return query(args);
        }
      },
    },
  });
  // A query-only extension leaves every method's types as they were, so callers keep the plain client type.
  return extended as unknown as PrismaClient;
}
