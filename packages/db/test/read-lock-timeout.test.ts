import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { createDb, isDatabaseUnavailable, poolOf, readRows, type Db } from '../src';
import { lockTimeoutOf } from '../src/create-db';

const QUERY_TIMEOUT_MS = 2_000;
const LOCK_TIMEOUT_MS = lockTimeoutOf(QUERY_TIMEOUT_MS);
const COUNT_CHARACTERS = { name: 'read-lock-timeout-count', text: 'SELECT count(*)::int AS n FROM characters' };

/**
 * A read that waited for a lock past lock_timeout (55P03: a table held ACCESS EXCLUSIVE by a
 * migration's ALTER, a row held FOR UPDATE by a stuck writer) is answered unavailable after one wait:
 * it is not sent again at once, as a read past the query timeout is not, since the same wait would
 * most likely follow and the caller would wait twice the lock timeout, past the query timeout.
 */
describe('a read whose lock wait ran out (lock_timeout)', () => {
  let database: TestDatabase;
  let db: Db;
  let holder: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase('reviewn-read-lock');
    db = createDb(database.url, { max: 2, queryTimeoutMs: QUERY_TIMEOUT_MS });
    // The same reads once before the lock: the pool's connections made and Prisma's query compiled, so
    // the times below are the lock wait's alone (a loaded CI run spent 750 ms on them on a first read).
    await db.character.findMany();
    await readRows(db, COUNT_CHARACTERS, []);
    holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE characters IN ACCESS EXCLUSIVE MODE');
  });
  afterAll(async () => {
    await holder?.query('ROLLBACK').catch(() => undefined);
    await holder?.end();
    if (db) await poolOf(db).end();
    await database?.drop();
  });

  const timed = async (read: () => Promise<unknown>) => {
    const started = Date.now();
    const error = await read().then(() => null, (e: unknown) => e);
    return { error, ms: Date.now() - started };
  };

  it('when a Prisma read waits past the lock timeout, then it fails unavailable after one wait, within the query timeout', async () => {
    const { error, ms } = await timed(() => db.character.findMany());
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(ms).toBeLessThan(QUERY_TIMEOUT_MS);
    expect(ms).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS - 50);
  }, 30_000);

  it('when a pooled read (readRows) waits past the lock timeout, then it fails unavailable after one wait, within the query timeout', async () => {
    const { error, ms } = await timed(() => readRows(db, COUNT_CHARACTERS, []));
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(ms).toBeLessThan(QUERY_TIMEOUT_MS);
  }, 30_000);
});
