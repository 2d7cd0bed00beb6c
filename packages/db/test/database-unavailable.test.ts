import { createTestDatabase, startTcpProxy, TEST_POSTGRES, type TcpProxy, type TestDatabase } from '@anime/testing';
import { createDb, isDatabaseUnavailable, isIdempotentRead, type Db } from '../src';

const failure = (run: () => Promise<unknown>) => run().then(() => { throw new Error('expected a failure'); }, (error: unknown) => error);

describe('isDatabaseUnavailable on what Prisma and node-postgres really throw', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase('db-unavailable');
    proxy = await startTcpProxy(TEST_POSTGRES);
    db = createDb(proxy.urlFor(database.url), { max: 2 });
  });

  afterAll(async () => {
    await db.$disconnect();
    await proxy.close();
    await database.drop();
  });

  it('when the server refuses connections, then reads, writes, raw queries and transactions all fail as unavailable', async () => {
    await proxy.refuse();
    const errors = [
      await failure(() => db.character.findMany()),
      await failure(() => db.character.create({ data: { slug: 'x', name: 'x' } })),
      await failure(() => db.$queryRaw`SELECT 1`),
      await failure(() => db.$transaction((tx) => tx.character.count())),
    ];
    expect(errors.map(isDatabaseUnavailable)).toEqual([true, true, true, true]);
    await proxy.accept();
  });

  it('when open connections are cut, then the statements on them fail as unavailable, and work again after', async () => {
    await db.character.count();
    const pending = failure(() => db.$queryRaw`SELECT pg_sleep(5)`);
    await new Promise((r) => setTimeout(r, 200));
    await proxy.refuse();
    expect(isDatabaseUnavailable(await pending)).toBe(true);
    await proxy.accept();
    expect(await db.character.count()).toBe(0);
  });

  it('when every pooled connection is busy past a transaction start limit, then the timeout is unavailable (a busy database, 503), not a 500', async () => {
    const busy = createDb(database.url, { max: 1 });
    const holding = busy.$queryRaw`SELECT 1 AS slept FROM pg_sleep(3)`.then(() => undefined); // a Prisma query starts when awaited
    await new Promise((r) => setTimeout(r, 100));
    const error = await failure(() => busy.$transaction((tx) => tx.character.count()));
    expect(String((error as Error).message)).toMatch(/Unable to start a transaction in the given time/);
    expect(isDatabaseUnavailable(error)).toBe(true);
    await holding;
    await busy.$disconnect();
  });

  it('when the query itself is at fault, then it is not unavailable', async () => {
    await db.character.create({ data: { slug: 'taken', name: 'Taken' } });
    expect(isDatabaseUnavailable(await failure(() => db.character.create({ data: { slug: 'taken', name: 'Again' } })))).toBe(false);
    expect(isDatabaseUnavailable(await failure(() => db.$queryRaw`SELECT * FROM no_such_table`))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });

  it('when the database does not exist, then it is a configuration fault, not an outage', async () => {
    const missing = createDb(database.url.replace(/\/[^/]+$/, '/anime_test_no_such_database'), { max: 1 });
    expect(isDatabaseUnavailable(await failure(() => missing.character.count()))).toBe(false);
    await missing.$disconnect();
  });
});

describe('isIdempotentRead', () => {
  it.each([
    ['findUnique', {}, true],
    ['findMany', {}, true],
    ['count', {}, true],
    ['groupBy', {}, true],
    ['create', {}, false],
    ['updateMany', {}, false],
    ['upsert', {}, false],
    ['$executeRaw', { strings: ['SELECT 1'] }, false],
    ['$queryRaw', { strings: ['SELECT 1'] }, true],
    ['$queryRaw', { strings: ['  select id from jobs where id = ', ''] }, true],
    ['$queryRaw', { strings: ['SELECT id FROM jobs FOR UPDATE SKIP LOCKED'] }, false],
    ['$queryRaw', { strings: ['SELECT pg_advisory_lock(', ')'] }, false],
    ['$queryRaw', { strings: ['SELECT nextval(\'s\')'] }, false],
    ['$queryRaw', { strings: ['UPDATE jobs SET x = 1 RETURNING id'] }, false],
    ['$queryRaw', { strings: ['WITH d AS (DELETE FROM jobs RETURNING id) SELECT id FROM d'] }, false],
    ['$queryRawUnsafe', ['SELECT $1::int', 1], true],
    ['$queryRawUnsafe', ['INSERT INTO t VALUES ($1)', 1], false],
  ])('%s %j → %s', (operation, args, expected) => {
    expect(isIdempotentRead(operation, args)).toBe(expected);
  });
});
