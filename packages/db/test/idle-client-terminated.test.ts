import { createTestDatabase, terminateBackends, waitFor, type TestDatabase } from '@anime/testing';
import { createDb, poolOf, type Db } from '../src';

/**
 * pg-pool re-emits an idle client's error (its backend terminated: pg_terminate_backend, a server
 * restart, DROP DATABASE … WITH (FORCE)) as the pool's 'error' event, and an 'error' event no one
 * listens to is thrown. Prisma's adapter listens only once Prisma has connected; a pool used
 * before that (through poolOf) crashed its process when an idle connection was ended.
 */
describe('an idle pooled connection ended by the server before Prisma connected', () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase('idle-client-terminated');
    db = createDb(database.url, { max: 2 });
  });
  afterAll(async () => {
    await poolOf(db)?.end();
    await database?.drop();
  });

  it('when its backend is terminated, then nothing is thrown, the pool lets it go, and the next statement runs on a new connection', async () => {
    const pool = poolOf(db);
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(pool.idleCount).toBe(1);
    expect(await terminateBackends(database.name)).toBe(1);
    await waitFor(() => pool.totalCount === 0, 'the ended connection to leave the pool', 5_000, 20);
    const again = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(again.rows[0].pid).not.toBe(rows[0].pid);
  });
});
