import type pg from 'pg';
import { poolOf, queryTimeoutOf, type Db } from './create-db';
import { oneWaiterPerLock } from './one-waiter-per-lock';
import type { Statement } from './statements';

/** The statements of one inLockedTransaction, run on its connection inside its transaction. */
export interface LockedTransaction {
  run<Row>(statement: Statement, values: unknown[]): Promise<Row[]>;
}

/**
 * Runs `work` in a transaction that first takes the transaction-scoped advisory lock named `lock`
 * (`pg_advisory_xact_lock(hashtext(lock))`): whoever runs under the same name, in any process on
 * the database, waits for the holder's commit or rollback. Each statement of `work` is a statement
 * after the lock was granted, so (READ COMMITTED) it sees everything earlier holders committed: a
 * count-then-insert under one name cannot be raced. The lock ends with the transaction, also when
 * the connection dies.
 *
 * A transaction left idle past the query timeout (its process frozen or cut off between two
 * statements) is ended by PostgreSQL, and the lock with it.
 *
 * BEGIN and the lock go out as one simple-protocol message (the name as an escaped literal), so
 * the lock costs two round trips more than `work`'s own statements (that one and COMMIT).
 * Calls under one name on one pool take their turns (oneWaiterPerLock): one pooled connection at a
 * time waits for the lock.
 */
export async function inLockedTransaction<T>(db: Db, lock: string, work: (tx: LockedTransaction) => Promise<T>): Promise<T> {
  return oneWaiterPerLock(db, lock, () => lockedTransaction(db, lock, work));
}

async function lockedTransaction<T>(db: Db, lock: string, work: (tx: LockedTransaction) => Promise<T>): Promise<T> {
  const client = await poolOf(db).connect();
  const tx: LockedTransaction = {
    run: async <Row>(statement: Statement, values: unknown[]) => (await client.query({ name: statement.name, text: statement.text, values })).rows as Row[],
  };
  try {
    // A holder that stops between its statements (a frozen or partitioned process) would keep the
    // lock, and every creation and retry of its key would fail, for as long as that lasts: its
    // session is ended once idle in the transaction longer than a statement may take.
    await client.query(
      `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${queryTimeoutOf(db)}; SELECT pg_advisory_xact_lock(hashtext(${client.escapeLiteral(lock)}))`,
    );
    const result = await work(tx);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    await rollBack(client, error);
    throw error;
  }
}

/** A failed transaction is rolled back and its connection kept; one that cannot even roll back is discarded. */
async function rollBack(client: pg.PoolClient, error: unknown): Promise<void> {
  try {
    await client.query('ROLLBACK');
    client.release();
  } catch {
    client.release(error instanceof Error ? error : new Error(String(error)));
  }
}
