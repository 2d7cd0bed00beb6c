import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createTestDatabase, waitFor, type TestDatabase } from '@anime/testing';
import { BackendPool } from '../src/domain/backend-pool';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { queuedByAnEarlierProcess } from './earlier-prompt';

/** How long the write of the backend up and busy takes to commit here. */
const SLOW_WRITE_S = 2;

/**
 * A backend's row is written by each change of its state (a probe, a stuck record adopted), each
 * write on whichever pooled connection is free. A write can take longer to commit than the one
 * issued after it: its connection was still being opened, or its server process was not scheduled
 * (a loaded host). The row must end as the last state, not the one whose write came in last.
 */
describe('the backends row as a pool writes it', () => {
  let database: TestDatabase;
  let db: Db;
  let sim: Simulator;
  let pool: BackendPool | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('row-write-order');
    db = createDb(database.url, { max: 3 });
    sim = await startSimulator({ stepMs: 20 });
  });

  afterAll(async () => {
    sim?.releaseWorker();
    await pool?.close();
    await sim?.close();
    await db?.$disconnect();
    await database?.drop();
  });

  /** The write in the trigger's sleep, as pg_stat_activity shows it. */
  const sleepingWrite = async () => {
    const rows = await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`);
    return rows[0].n > 0;
  };

  it('when the write of an earlier state commits after the write of a later one, then the row still ends as the later state', async () => {
    // The row as written with the backend up and busy (its queue no longer empty) commits SLOW_WRITE_S late.
    // A BEFORE INSERT trigger runs ahead of the upsert's conflict check: the row is not locked meanwhile.
    await db.$executeRawUnsafe(`CREATE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(${SLOW_WRITE_S}); RETURN NEW; END $$`);
    await db.$executeRawUnsafe(`CREATE TRIGGER slow_busy_up BEFORE INSERT ON backends FOR EACH ROW WHEN (NEW.state = 'up' AND NEW.busy) EXECUTE FUNCTION slow_write()`);

    pool = new BackendPool({ urls: [sim.url], db, log: createLogger('orchestrator', 'error'), probeEveryMs: 200 });
    await pool.start();
    const id = backendIdFor(sim.url);
    expect(await db.backend.findUniqueOrThrow({ where: { id } })).toMatchObject({ state: 'up', busy: false });

    // A prompt runs for good (another process's): the next probe writes the backend busy, slowly.
    sim.hangWorker();
    const hung = await queuedByAnEarlierProcess(sim.url, textToImage({ steps: 2, width: 64, height: 64, seed: 1 }));
    await waitFor(sleepingWrite, 'the write of the backend busy to be under way');

    // Meanwhile another orchestrator records the backend stuck on it: the pool takes it for down, and writes so.
    await db.backend.update({ where: { id }, data: { stuckPromptId: hung, stuckSince: new Date() } });
    await waitFor(() => pool!.stateOf(sim.url) === 'down' || null, 'the pool to take the backend for down', 5_000);
    await waitFor(async () => !(await sleepingWrite()) || null, 'the slow write to end', (SLOW_WRITE_S + 5) * 1000);

    // The pool's probes go on (every 200 ms): the row tells what the pool holds, down and stuck.
    await waitFor(() => db.backend.findFirst({ where: { id, state: 'down' } }), 'the row to tell the backend down', 3_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(pool.stateOf(sim.url)).toBe('down');
    expect(await db.backend.findUniqueOrThrow({ where: { id } })).toMatchObject({ state: 'down', lastError: expect.stringMatching(/^ComfyUI's worker is stuck: prompt /) });
  });
});
