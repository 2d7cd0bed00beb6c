import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { createDb, inLockedTransaction, poolOf, type Db } from '../src';

// A scratch table of its own: one row per admission, counted against a cap before each insert.
const COUNT = { name: 'locked-tx-test-count', text: 'SELECT count(*)::int AS n FROM locked_tx_test WHERE owner = $1' };
const INSERT = { name: 'locked-tx-test-insert', text: 'INSERT INTO locked_tx_test (owner) VALUES ($1)' };
const CAP = 3;

describe('inLockedTransaction: count-then-insert under one advisory lock', () => {
  let database: TestDatabase;
  // Two pools on one database: two processes, as two gateway replicas are.
  let dbs: Db[];

  beforeAll(async () => {
    database = await createTestDatabase('cape-locked-tx');
    dbs = [createDb(database.url, { max: 6 }), createDb(database.url, { max: 6 })];
    await poolOf(dbs[0]).query('CREATE TABLE locked_tx_test (id serial PRIMARY KEY, owner text NOT NULL)');
  });
  afterAll(async () => {
    // Prisma never connected these Dbs (only their pools were used), so their pools are ended here.
    await Promise.all(dbs?.map((db) => poolOf(db).end()) ?? []);
    await database?.drop();
  });

  const admit = (db: Db, owner: string) =>
    inLockedTransaction(db, `test:${owner}`, async (tx) => {
      const [{ n }] = await tx.run<{ n: number }>(COUNT, [owner]);
      if (n >= CAP) return false;
      // A pause between the count and the insert: without the lock, every racer would pass the count.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await tx.run(INSERT, [owner]);
      return true;
    });

  it(`when 20 admissions of one owner race through two pools, then exactly ${CAP} pass and ${CAP} rows exist; another owner is not held by it`, async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => admit(dbs[i % 2], 'alpha')));
    expect(results.filter(Boolean)).toHaveLength(CAP);
    const other = await Promise.all(Array.from({ length: 4 }, (_, i) => admit(dbs[i % 2], 'beta')));
    expect(other.filter(Boolean)).toHaveLength(CAP);
    const { rows } = await poolOf(dbs[0]).query('SELECT owner, count(*)::int AS n FROM locked_tx_test GROUP BY owner ORDER BY owner');
    expect(rows).toEqual([
      { owner: 'alpha', n: CAP },
      { owner: 'beta', n: CAP },
    ]);
  });

  it('when the work fails, then its writes are rolled back, the lock is free for the next holder, and the connection goes back to the pool', async () => {
    const failed = inLockedTransaction(dbs[0], 'test:gamma', async (tx) => {
      await tx.run(INSERT, ['gamma']);
      throw new Error('work failed');
    });
    await expect(failed).rejects.toThrow('work failed');
    expect(await admit(dbs[1], 'gamma')).toBe(true);
    const { rows } = await poolOf(dbs[0]).query(`SELECT count(*)::int AS n FROM locked_tx_test WHERE owner = 'gamma'`);
    expect(rows[0].n).toBe(1);
    // Nothing left checked out or inside a transaction.
    expect(poolOf(dbs[0]).totalCount - poolOf(dbs[0]).idleCount).toBe(0);
    const { rows: open } = await poolOf(dbs[0]).query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`);
    expect(open[0].n).toBe(0);
  });
});
