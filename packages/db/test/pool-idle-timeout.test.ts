import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { createDb, poolOf, type Db } from '../src';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../src/create-db';

const backendPid = async (db: Db) => (await poolOf(db).query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/*
 * A connection that sat idle between two bursts of work is the one the next burst gets: each new
 * connection costs PostgreSQL a backend and a fresh plan of every named statement. Idle connections
 * are still closed, only later.
 */
describe('the pool of a Db between bursts of work', () => {
  let database: TestDatabase;
  const dbs: Db[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('pool-idle');
  });

  afterAll(async () => {
    for (const db of dbs) if (!poolOf(db).ended) await poolOf(db).end();
    await database?.drop();
  });

  it('when its connection was idle for 6 s, then the next statement runs on the same backend', async () => {
    expect(DEFAULT_IDLE_TIMEOUT_MS).toBeGreaterThanOrEqual(30_000);
    const db = createDb(database.url, { max: 1 });
    dbs.push(db);
    const first = await backendPid(db);
    await sleep(6_000);
    expect(await backendPid(db)).toBe(first);
    expect(poolOf(db).totalCount).toBe(1);
  }, 20_000);

  it('when a connection stays idle past the idle timeout, then the pool closes it and PostgreSQL ends its backend', async () => {
    const db = createDb(database.url, { max: 1, idleTimeoutMs: 300 });
    dbs.push(db);
    const pid = await backendPid(db);
    await sleep(1_000);
    expect(poolOf(db).totalCount).toBe(0);
    const observer = createDb(database.url, { max: 1 });
    dbs.push(observer);
    const { rows } = await poolOf(observer).query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid]);
    expect(rows[0].n).toBe(0);
  });
});
