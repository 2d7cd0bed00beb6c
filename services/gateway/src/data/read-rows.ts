import { isDatabaseUnavailable, poolOf, type Db, type SqlPool } from '@anime/db';

/** A hot-path statement; its name prepares it once per connection (the text under a name never changes). */
export interface Statement {
  name: string;
  text: string;
}

function poolUnder(db: Db): SqlPool | null {
  try {
    return poolOf(db);
  } catch {
    return null;
  }
}

/**
 * One read-only statement for a hot path, sent straight to node-postgres when the client came from
 * createDb (Prisma's query interpreter costs more CPU than the statement itself), else through
 * `$queryRawUnsafe`. Like retryReadsOnce for Prisma's reads, a dropped connection is retried once.
 * Select only json, text, int, float and boolean columns, which every path parses alike: a
 * timestamp as epoch milliseconds, a bigint as text.
 */
export async function readRows<T>(db: Db, statement: Statement, values: unknown[]): Promise<T[]> {
  const pool = poolUnder(db);
  const run = (): Promise<T[]> =>
    pool ? pool.query({ name: statement.name, text: statement.text, values }).then((result) => result.rows as T[]) : db.$queryRawUnsafe<T[]>(statement.text, ...values);
  try {
    return await run();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    return run();
  }
}
