import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, isDatabaseUnavailable, poolOf, readRows, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { JobLifecycle, queueLockOf } from '../src/lifecycle/job-lifecycle';

// The client gives a statement this long; PostgreSQL ends it 1 s later (statement_timeout).
const QUERY_TIMEOUT_MS = 1_500;
const body = () => generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A capped insert (createWithinCap) or a capped retry waits on its caller's queue lock while another
 * session holds it. Once the caller was told the database is unavailable (503), nothing it asked
 * for may still happen: the lock let go between the client's timeout and the server's
 * statement_timeout used to let the waiting INSERT run and commit, a generation written for a
 * client that was answered 503 (and that would send it again).
 */
describe('a capped generation waiting on its queue lock past the query timeout', () => {
  let database: TestDatabase;
  let db: Db;
  // Another session (its own pool), holding the lock as a slow or stuck holder would.
  let holderDb: Db;
  let holder: { query(text: string, values?: unknown[]): Promise<{ rows: { n: number }[] }>; release(): void };

  beforeAll(async () => {
    database = await createTestDatabase('queue-lock-wait');
    db = createDb(database.url, { max: 4, queryTimeoutMs: QUERY_TIMEOUT_MS });
    holderDb = createDb(database.url, { max: 1 });
    holder = (await poolOf(holderDb).connect()) as unknown as typeof holder;
  });
  const releases: NodeJS.Timeout[] = [];
  afterEach(async () => {
    for (const timer of releases.splice(0)) clearTimeout(timer);
    await holder.query('SELECT pg_advisory_unlock_all()');
  });
  afterAll(async () => {
    holder?.release();
    await poolOf(holderDb).end();
    await db?.$disconnect();
    await database?.drop();
  });

  /** Holds `lock` from another session for `ms`, as a slow or stuck holder would. */
  async function holdLock(lock: string, ms: number): Promise<void> {
    await holder.query('SELECT pg_advisory_lock(hashtext($1))', [lock]);
    releases.push(setTimeout(() => void holder.query('SELECT pg_advisory_unlock(hashtext($1))', [lock]), ms));
  }

  it('when the lock is let go after the caller timed out but before the server gave up, then the caller is told unavailable within the query timeout and no generation was written', async () => {
    const lifecycle = new JobLifecycle(db);
    await holdLock(queueLockOf(null, 'lock-wait'), QUERY_TIMEOUT_MS + 400);
    const started = Date.now();
    const error = await lifecycle.createWithinCap({ body: body(), source: 'lock-wait' }, 5).then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(Date.now() - started).toBeLessThanOrEqual(QUERY_TIMEOUT_MS + 200);
    // Past the lock's release and the server's own statement_timeout.
    await sleep(1_500);
    expect(await db.generationJob.count({ where: { source: 'lock-wait' } })).toBe(0);
    expect(await db.jobEvent.count()).toBe(0);
    const { rows } = await holder.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(rows[0].n).toBe(0);
  }, 30_000);

  it('when a capped retry waits on the lock as long, then it is told unavailable within the query timeout and the generation stays failed', async () => {
    const lifecycle = new JobLifecycle(db);
    const { job } = await lifecycle.create({ body: body(), source: 'lock-wait-retry' });
    await db.generationJob.update({ where: { id: job.id }, data: { status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
    await holdLock(queueLockOf(null, 'lock-wait-retry'), QUERY_TIMEOUT_MS + 400);
    const started = Date.now();
    const error = await lifecycle.retryWithinCap(job.id, { reason: 'test' }, 5, 'lock-wait-retry').then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(Date.now() - started).toBeLessThanOrEqual(QUERY_TIMEOUT_MS + 200);
    await sleep(1_500);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id: job.id }, select: { status: true } })).toEqual({ status: 'failed' });
  }, 30_000);

  it('when many capped creations of one caller wait on its held lock, then they hold at most one pooled connection: a read and another caller are served at once, and each waiter is told unavailable within the query timeout', async () => {
    const lifecycle = new JobLifecycle(db);
    await holdLock(queueLockOf(null, 'lock-wait-many'), 3 * QUERY_TIMEOUT_MS);
    const started = Date.now();
    // Twice the pool's size of waiters on one held lock (the pool has 4 connections).
    const waiting = Array.from({ length: 8 }, () =>
      lifecycle.createWithinCap({ body: body(), source: 'lock-wait-many' }, 5).then(
        () => new Error('expected a failure'),
        (e: unknown) => ({ error: e, ms: Date.now() - started }),
      ),
    );
    await sleep(200);
    const before = Date.now();
    await readRows(db, { name: 'lock-wait-read', text: 'SELECT 1 AS one' }, []);
    const other = await lifecycle.createWithinCap({ body: body(), source: 'lock-wait-other' }, 5);
    expect('job' in other).toBe(true);
    expect(Date.now() - before).toBeLessThan(300);
    for (const result of await Promise.all(waiting)) {
      expect(result).not.toBeInstanceOf(Error);
      const { error, ms } = result as { error: unknown; ms: number };
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(ms).toBeLessThanOrEqual(QUERY_TIMEOUT_MS + 200);
    }
    expect(await db.generationJob.count({ where: { source: 'lock-wait-many' } })).toBe(0);
  }, 30_000);
});
