import { randomUUID } from 'node:crypto';
import { createDb, poolOf, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { keyAndQueueRoomFinder } from '../src/data/find-key-with-queue-room';
import { queueDepth, readQueueRoom, type QueueCaps } from '../src/domain/queue-pressure';

/*
 * The gateway's counts of generation_jobs (MAX_QUEUE_DEPTH's waiting generations, a key's queued
 * and running ones; read with the key on every POST /generations, in a retry's room check and by
 * /readyz) under statistics taken while a backlog was queued: the planner read each as a
 * sequential scan of the whole table "stopped at the cap", custom and generic plans alike, long
 * after the backlog had finished (2,000 finished jobs: 62 buffers and the whole table for a count of 0).
 */
const HISTORY = 2_000;
const CAPS: QueueCaps = { maxQueueDepth: 1_000, maxQueuedPerKey: 1_000 };

describe("the gateway's queue counts under statistics taken while a backlog was queued", () => {
  let database: TestDatabase;
  let db: Db;
  const key = randomUUID();
  const keyHash = randomUUID();

  beforeAll(async () => {
    database = await createTestDatabase('queue-count-plans');
    db = createDb(database.url, { max: 1 });
    const pool = poolOf(db);
    // The statistics stay as ANALYZE left them for the whole test.
    await pool.query('ALTER TABLE generation_jobs SET (autovacuum_enabled = false)');
    await pool.query(`INSERT INTO api_keys (id, name, "keyHash", prefix, scopes, "createdAt") VALUES ($1, 'backlog', $2, 'p', '{generate}', now())`, [key, keyHash]);
    // A backlog of one key and as many keyless generations made over the API, 95 % queued when ANALYZE ran, all finished since.
    await pool.query(
      `INSERT INTO generation_jobs (id, status, stage, request, project, episode, scene, "updatedAt", "apiKeyId", source)
       SELECT gen_random_uuid(), (CASE WHEN g % 20 = 0 THEN 'completed' ELSE 'queued' END)::"JobStatus", 'requested', '{}', 'p', 'e', 's', now(),
         CASE WHEN g % 2 = 0 THEN $1::uuid END, 'api'
       FROM generate_series(1, ${HISTORY * 2}) g`,
      [key],
    );
    await pool.query('ANALYZE generation_jobs');
    await pool.query(`UPDATE generation_jobs SET status = 'completed', stage = 'filed'`);
    // What is left to count: 3 of the key's queued, 2 running, 1 keyless queued.
    await pool.query(
      `INSERT INTO generation_jobs (id, status, stage, request, project, episode, scene, "updatedAt", "apiKeyId", source)
       SELECT gen_random_uuid(), s::"JobStatus", 'requested', '{}', 'p', 'e', 's', now(), k, 'api'
       FROM (VALUES ('queued', $1::uuid), ('queued', $1::uuid), ('queued', $1::uuid), ('running', $1::uuid), ('running', $1::uuid), ('queued', NULL)) AS v(s, k)`,
      [key],
    );
  });

  afterAll(async () => {
    await db?.$disconnect();
    if (db && !poolOf(db).ended) await poolOf(db).end();
    await database?.drop();
  });

  /** Sequential scans of generation_jobs so far: the pool's one backend flushes its counts first (each read below runs on it). */
  const seqScans = async () => {
    await poolOf(db).query('SELECT pg_stat_force_next_flush()');
    const { rows } = await poolOf(db).query(`SELECT seq_scan::int AS n FROM pg_stat_user_tables WHERE relname = 'generation_jobs'`);
    return rows[0].n as number;
  };

  it('when the queue room, the key with its room and the depth are read, then each reads its index, never the whole table, and counts exactly', async () => {
    const before = await seqScans();
    const kept: unknown[] = [];
    const find = keyAndQueueRoomFinder(db, CAPS, (room) => kept.push(room));
    // Past the plan cache's five custom plans: the plan a long-lived connection keeps.
    for (let i = 0; i < 8; i++) {
      expect(await readQueueRoom(db, CAPS, key)).toEqual({ depth: 4, ofKey: 5 });
      expect(await readQueueRoom(db, CAPS, null)).toEqual({ depth: 4, ofKey: 1 });
      expect(await find(keyHash)).toMatchObject({ name: 'backlog' });
      expect(await queueDepth(db, CAPS.maxQueueDepth)).toBe(4);
      expect(await queueDepth(db)).toBe(4);
    }
    expect(kept).toEqual(Array.from({ length: 8 }, () => ({ depth: 4, ofKey: 5 })));
    expect((await seqScans()) - before).toBe(0);
    // Each count still stops at its cap.
    expect(await readQueueRoom(db, { maxQueueDepth: 2, maxQueuedPerKey: 3 }, key)).toEqual({ depth: 2, ofKey: 3 });
    expect(await queueDepth(db, 3)).toBe(3);
  });
});
