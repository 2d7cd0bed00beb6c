import { randomUUID } from 'node:crypto';
import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, poolOf, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { JobLifecycle, queueLockOf } from '../src/lifecycle/job-lifecycle';

/*
 * Every capped creation (createWithinCap) counts its caller's queued and running generations in
 * generation_queue_has_room. Statistics taken while one key's backlog was queued say that key's
 * jobs are mostly active; with them the planner read the count as a sequential scan of the whole
 * table (finished jobs and dead row versions included) for every creation until the next ANALYZE:
 * 1.26 ms of PostgreSQL's CPU per job in a 1,000-job bench backlog, growing with the table.
 */
const body = () => generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' });
const HISTORY = 2_000;

describe('the queue-room count under statistics taken while a backlog was queued', () => {
  let database: TestDatabase;
  let db: Db;
  const key = randomUUID();

  beforeAll(async () => {
    database = await createTestDatabase('queue-room-plan');
    db = createDb(database.url, { max: 1 });
    const pool = poolOf(db);
    await pool.query(`INSERT INTO api_keys (id, name, "keyHash", prefix, scopes, "createdAt") VALUES ($1, 'backlog', $2, 'p', '{generate}', now())`, [key, randomUUID()]);
    // A backlog of one key, 95 % queued when ANALYZE ran, all finished since (the statistics left as they were).
    await pool.query(
      `INSERT INTO generation_jobs (id, status, stage, request, project, episode, scene, "updatedAt", "apiKeyId")
       SELECT gen_random_uuid(), (CASE WHEN g % 20 = 0 THEN 'completed' ELSE 'queued' END)::"JobStatus", 'requested', '{}', 'p', 'e', 's', now(), $1
       FROM generate_series(1, ${HISTORY}) g`,
      [key],
    );
    // The statistics stay as ANALYZE left them for the whole test.
    await pool.query('ALTER TABLE generation_jobs SET (autovacuum_enabled = false)');
    await pool.query('ANALYZE generation_jobs');
    await pool.query(`UPDATE generation_jobs SET status = 'completed', stage = 'filed'`);
  });

  afterAll(async () => {
    await db?.$disconnect();
    // Prisma disposes of the pool only once it used it; this test runs on the pool alone.
    if (db && !poolOf(db).ended) await poolOf(db).end();
    await database?.drop();
  });

  it('when a key creates generations, then its count reads the (apiKeyId, status) index, never the whole table, and the cap still holds exactly', async () => {
    const lifecycle = new JobLifecycle(db);
    const client = await poolOf(db).connect();
    // The table's sequential scans so far on this connection (PostgreSQL 15 counts those of its
    // earlier transactions not yet flushed to the statistics too, hence a difference).
    const seqScans = async () => (await client.query(`SELECT pg_stat_get_xact_numscans('generation_jobs'::regclass)::int AS n`)).rows[0].n as number;
    try {
      await client.query('BEGIN');
      const before = await seqScans();
      // Past the plan cache's five custom plans: the plan a long-lived connection keeps.
      for (let i = 0; i < 8; i++) {
        const { rows } = await client.query('SELECT generation_queue_has_room($1, $2::uuid, $3, $4) AS room', [queueLockOf(key, 'api'), key, 'api', 1_000]);
        expect(rows[0].room).toBe(true);
      }
      expect((await seqScans()) - before).toBe(0);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    // The cap, as before: three active generations fill a cap of three, not one of four.
    for (let i = 0; i < 3; i++) expect(await lifecycle.createWithinCap({ body: body(), source: 'api', apiKeyId: key }, 3)).toMatchObject({ created: true });
    expect(await lifecycle.createWithinCap({ body: body(), source: 'api', apiKeyId: key }, 3)).toEqual({ full: true });
    expect(await lifecycle.createWithinCap({ body: body(), source: 'api', apiKeyId: key }, 4)).toMatchObject({ created: true });
    // Keyless generations count per producer, apart from the key's.
    expect(await lifecycle.createWithinCap({ body: body(), source: 'producer-a' }, 1)).toMatchObject({ created: true });
    expect(await lifecycle.createWithinCap({ body: body(), source: 'producer-a' }, 1)).toEqual({ full: true });
    expect(await lifecycle.createWithinCap({ body: body(), source: 'producer-b' }, 1)).toMatchObject({ created: true });
    const { rows: counted } = await poolOf(db).query(`SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued FROM generation_jobs`);
    expect(counted[0].queued).toBe(6);
  });

  it("when failed generations are retried within their key's cap, then the count of the key's active ones reads the (apiKeyId, status) index, never the whole table, and the cap still holds exactly", async () => {
    const lifecycle = new JobLifecycle(db);
    const pool = poolOf(db);
    // Sequential scans of generation_jobs so far: the pool's one backend flushes its counts first.
    const seqScans = async () => {
      await pool.query('SELECT pg_stat_force_next_flush()');
      return (await pool.query(`SELECT seq_scan::int AS n FROM pg_stat_user_tables WHERE relname = 'generation_jobs'`)).rows[0].n as number;
    };
    await pool.query(`UPDATE generation_jobs SET status = 'completed', stage = 'filed'`);
    const failed: string[] = [];
    for (let i = 0; i < 8; i++) {
      const made = await lifecycle.create({ body: body(), source: 'api', apiKeyId: key });
      failed.push(made.job.id);
    }
    await pool.query(`UPDATE generation_jobs SET status = 'failed' WHERE id = ANY($1::uuid[])`, [failed]);
    const before = await seqScans();
    // Past the plan cache's five custom plans: the plan a long-lived connection keeps.
    for (const id of failed.slice(0, 7)) expect(await lifecycle.retryWithinCap(id, { reason: 'again' }, 1_000, 'api')).toMatchObject({ name: 'job:retrying' });
    expect((await seqScans()) - before).toBe(0);
    // Seven active now: a cap of seven is full, one of eight is not.
    expect(await lifecycle.retryWithinCap(failed[7], { reason: 'again' }, 7, 'api')).toEqual({ full: true });
    expect(await lifecycle.retryWithinCap(failed[7], { reason: 'again' }, 8, 'api')).toMatchObject({ name: 'job:retrying' });
  });
});
