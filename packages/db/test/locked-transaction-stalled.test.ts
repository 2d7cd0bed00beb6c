import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { createDb, inLockedTransaction, isDatabaseUnavailable, poolOf, type Db } from '../src';

const QUERY_TIMEOUT_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SELECT_ONE = { name: 'stalled-tx-one', text: 'SELECT 1 AS one' };

/**
 * A holder of a locked transaction whose process stops between two statements (frozen, paused or
 * cut off without its connection closing): PostgreSQL sees a session idle in its transaction.
 * It used to keep the lock for as long as that lasted, so every later holder, in any process,
 * failed (a key's queue lock: each of its creations and retries answered 503 on every gateway).
 */
describe('inLockedTransaction whose holder stalls between statements', () => {
  let database: TestDatabase;
  // Two pools: the stalled process and another one.
  let dbs: Db[];

  beforeAll(async () => {
    database = await createTestDatabase('locked-tx-stalled');
    dbs = [createDb(database.url, { max: 2, queryTimeoutMs: QUERY_TIMEOUT_MS }), createDb(database.url, { max: 2, queryTimeoutMs: QUERY_TIMEOUT_MS })];
  });
  afterAll(async () => {
    await Promise.all(dbs?.map((db) => poolOf(db).end()) ?? []);
    await database?.drop();
  });

  it('when the holder stays idle in its transaction past the query timeout, then its session is ended and the lock goes to the next holder; the stalled holder fails as unavailable', async () => {
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const stalled = inLockedTransaction(dbs[0], 'test:stalled', async (tx) => {
      await tx.run(SELECT_ONE, []);
      locked();
      await sleep(4 * QUERY_TIMEOUT_MS);
      return tx.run(SELECT_ONE, []);
    }).then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    await holding;
    const started = Date.now();
    // The other process tries until it holds the lock (each try bounded by the lock timeout).
    let got = false;
    while (!got && Date.now() - started < 4 * QUERY_TIMEOUT_MS) {
      got = await inLockedTransaction(dbs[1], 'test:stalled', async () => true).catch((e: unknown) => {
        if (!isDatabaseUnavailable(e)) throw e;
        return false;
      });
    }
    expect(got).toBe(true);
    expect(Date.now() - started).toBeLessThan(2 * QUERY_TIMEOUT_MS + 500);
    expect(isDatabaseUnavailable(await stalled)).toBe(true);
    const { rows } = await poolOf(dbs[1]).query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(rows[0].n).toBe(0);
  }, 30_000);
});
