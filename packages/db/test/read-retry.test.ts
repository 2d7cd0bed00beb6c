import { Client } from 'pg';
import { createTestDatabase, terminateBackends, waitFor, type TestDatabase } from '@anime/testing';
import { createDb, isDatabaseUnavailable, type Db } from '../src';

/**
 * A statement is held on a table lock, its backend terminated while it waits (what a PostgreSQL
 * restart or an administrator does to a query in flight), then the lock is let go.
 */
describe('reads that meet a terminated connection', () => {
  let database: TestDatabase;
  let db: Db;
  let locker: Client;

  beforeAll(async () => {
    database = await createTestDatabase('read-retry');
    db = createDb(database.url, { max: 3 });
    locker = new Client({ connectionString: database.url });
    await locker.connect();
  });

  afterAll(async () => {
    await locker.end();
    await db.$disconnect();
    await database.drop();
  });

  async function terminatedWhileLocked<T>(run: () => Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; terminated: number }> {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE characters IN ACCESS EXCLUSIVE MODE');
    const pending = run();
    const settled = Promise.allSettled([pending]).then(([outcome]) => outcome);
    const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const terminated = await waitFor(() => terminateBackends(database.name, { waitingOnLock: true, except: [lockerPid] }), 'the statement to wait on the lock', 10_000, 20);
    await locker.query('COMMIT');
    return { outcome: await settled, terminated };
  }

  it('when a model read loses its connection mid-query, then it is retried once and answers', async () => {
    await db.character.create({ data: { slug: 'kept', name: 'Kept' } });
    const { outcome, terminated } = await terminatedWhileLocked(() => db.character.findMany({ select: { slug: true } }));
    expect(terminated).toBe(1);
    expect(outcome).toEqual({ status: 'fulfilled', value: [{ slug: 'kept' }] });
  });

  it('when a raw SELECT loses its connection mid-query, then it is retried once and answers', async () => {
    const { outcome, terminated } = await terminatedWhileLocked(() => db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM characters`);
    expect(terminated).toBe(1);
    expect(outcome.status).toBe('fulfilled');
  });

  it('when a write loses its connection mid-query, then it is not retried and fails as database unavailable', async () => {
    const { outcome, terminated } = await terminatedWhileLocked(() => db.character.create({ data: { slug: 'lost', name: 'Lost' } }));
    expect(terminated).toBe(1);
    expect(outcome.status).toBe('rejected');
    expect(isDatabaseUnavailable((outcome as PromiseRejectedResult).reason)).toBe(true);
    expect(await db.character.count({ where: { slug: 'lost' } })).toBe(0);
  });

  it('when a read inside a transaction loses its connection, then it is not retried (the transaction is gone)', async () => {
    const { outcome, terminated } = await terminatedWhileLocked(() => db.$transaction((tx) => tx.character.findMany()));
    expect(terminated).toBe(1);
    expect(outcome.status).toBe('rejected');
    expect(isDatabaseUnavailable((outcome as PromiseRejectedResult).reason)).toBe(true);
  });

  it('when the connection is back, then the next statements (writes too) run on a fresh one', async () => {
    await db.character.create({ data: { slug: 'after', name: 'After' } });
    expect(await db.character.count()).toBe(2);
  });
});
