import { createTestDatabase, startTcpProxy, TEST_POSTGRES, type TcpProxy, type TestDatabase } from '@anime/testing';
import { createDb, isDatabaseUnavailable, isQueryTimeout, poolOf, readRows, type Db } from '../src';

const QUERY_TIMEOUT_MS = 1_500;
const failure = (run: () => Promise<unknown>) => run().then(() => { throw new Error('expected a failure'); }, (error: unknown) => error);

/**
 * A PostgreSQL that stops answering without closing anything (a partition, a frozen host): the
 * proxy holds every byte and every connection. Without a statement timeout each statement waits
 * for as long as that lasts.
 */
describe('statements while PostgreSQL is silent', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase('db-partition');
    proxy = await startTcpProxy(TEST_POSTGRES);
    // One connection: what happens to it is what the next statement gets.
    db = createDb(proxy.urlFor(database.url), { max: 1, queryTimeoutMs: QUERY_TIMEOUT_MS });
  });

  afterEach(() => proxy.heal());

  afterAll(async () => {
    await db.$disconnect();
    await proxy.close();
    await database.drop();
  });

  it('when a model read, a raw read or a pooled read meets the silence, then each fails as unavailable (a timeout), without a second try on a fresh connection', async () => {
    for (const read of [
      () => db.character.findMany(),
      () => db.$queryRaw`SELECT 1`,
      () => readRows(db, { name: 'partition-test-read', text: 'SELECT 1 AS one' }, []),
    ]) {
      await db.character.count(); // the pooled connection is open when the partition starts
      const opened = proxy.connections();
      proxy.blackHole();
      const error = await failure(read);
      expect([isDatabaseUnavailable(error), isQueryTimeout(error)]).toEqual([true, true]);
      // A retry would have opened a connection (the pool's only one was closed): it would wait on the silence again.
      expect(proxy.connections()).toBe(opened);
      proxy.heal();
    }
  }, 60_000);

  it('when a statement inside a transaction meets the silence, then the transaction fails as unavailable and its connection is closed, not handed out again', async () => {
    await db.character.count();
    const error = await failure(() =>
      db.$transaction(async (tx) => {
        await tx.character.count();
        proxy.blackHole();
        return tx.character.create({ data: { slug: 'during', name: 'During' } });
      }),
    );
    expect(isDatabaseUnavailable(error)).toBe(true);
    // The connection still waiting for its answer is gone from the pool (pg-pool drops a client that is not queryable).
    expect(poolOf(db).totalCount).toBe(0);
    proxy.heal();
    expect(await db.character.count({ where: { slug: 'during' } })).toBe(0);
  }, 60_000);

  it('when the server answers again, then statements run on fresh connections as before', async () => {
    proxy.blackHole();
    await failure(() => db.character.count());
    proxy.heal();
    await db.character.create({ data: { slug: 'after', name: 'After' } });
    expect(await db.character.findMany({ select: { slug: true } })).toEqual([{ slug: 'after' }]);
  }, 60_000);

  it('when a statement takes less than the timeout, then it is not cut; the server ends what the client gave up on just after', async () => {
    expect(await db.$queryRaw`SELECT 1 AS slept FROM pg_sleep(${(QUERY_TIMEOUT_MS - 1_000) / 1000}::float8)`).toEqual([{ slept: 1 }]);
    expect(await db.$queryRaw`SELECT current_setting('statement_timeout') AS limit`).toEqual([{ limit: `${QUERY_TIMEOUT_MS + 1_000}ms` }]);
  });

  it('when the server cancels a statement (statement_timeout, pg_cancel_backend), then it is unavailable, not a fault of the query', async () => {
    const error = await failure(() =>
      db.$transaction(async (tx) => {
        await tx.$executeRaw`SET LOCAL statement_timeout = 50`;
        return tx.$queryRaw`SELECT pg_sleep(1)`;
      }),
    );
    expect(String((error as Error).message)).toMatch(/statement timeout/);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(isQueryTimeout(error)).toBe(false);
  });
});
