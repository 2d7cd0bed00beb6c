import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createTestDatabase, waitFor, type TestDatabase } from '@anime/testing';
import { BackendPool } from '../src/domain/backend-pool';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { queuedByAnEarlierProcess } from './earlier-prompt';

/** The time a stuck backend's lastError tells: "… (since <ISO>) …". */
const sinceIn = (lastError: string | null) => /\(since (\S+)\)/.exec(lastError ?? '')?.[1];

/**
 * A stuck backend's row (stuckPromptId, stuckSince) is what every orchestrator sharing the backend
 * reads: the time it tells in lastError, and times from, is the one in the row, whichever process
 * found it stuck.
 */
describe('since when a backend is stuck, across orchestrators (pool in-process, simulator, PostgreSQL)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let pool: BackendPool | undefined;
  let running: string;
  const log = createLogger('orchestrator', 'error');

  beforeAll(async () => {
    database = await createTestDatabase('stuck-since');
    db = createDb(database.url, { max: 3 });
    simulator = await startSimulator({ stepMs: 200 });
    // A prompt that runs the whole file long: the pool's probes find ComfyUI still running it.
    running = await queuedByAnEarlierProcess(simulator.url, textToImage({ steps: 300, width: 64, height: 64, seed: 1 }));
  });

  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    await db.backend.updateMany({ data: { stuckPromptId: null, stuckSince: null } });
  });

  afterAll(async () => {
    await simulator?.close();
    await db?.$disconnect();
    await database?.drop();
  });

  const rowOf = () => db.backend.findUniqueOrThrow({ where: { id: backendIdFor(simulator.url) } });

  it('when another orchestrator recorded the backend stuck, then this one takes it for down telling the row\'s stuckSince, not the time it read the row', async () => {
    pool = new BackendPool({ urls: [simulator.url], db, log, probeEveryMs: 60_000 });
    await pool.start();
    expect(pool.stateOf(simulator.url)).toBe('up');
    const since = new Date(Date.now() - 3_600_000);
    await db.backend.update({ where: { id: backendIdFor(simulator.url) }, data: { stuckPromptId: running, stuckSince: since } });

    await pool.refreshDrain();
    expect(pool.stateOf(simulator.url)).toBe('down');
    const row = await waitFor(async () => {
      const r = await rowOf();
      return r.state === 'down' && sinceIn(r.lastError) ? r : null;
    }, 'the row to be written down, stuck', 5_000);
    expect(sinceIn(row.lastError)).toBe(since.toISOString());
    // Still stuck at its own probe (ComfyUI runs the prompt): it stays down.
    expect(await pool.confirmDown(simulator.url)).toBe(true);
  });

  it("when another orchestrator's record names a prompt ComfyUI already let go of (read before it cleared the row), then this one does not take the backend for down, and the jobs it drives there go on", async () => {
    pool = new BackendPool({ urls: [simulator.url], db, log, probeEveryMs: 60_000 });
    await pool.start();
    expect(pool.stateOf(simulator.url)).toBe('up');
    // A job of this process following its (healthy, running) prompt there.
    const lease = pool.acquireExisting(simulator.url)!;
    await db.backend.update({ where: { id: backendIdFor(simulator.url) }, data: { stuckPromptId: 'let-go-of', stuckSince: new Date() } });

    await pool.refreshDrain();
    await pool.refreshDrain();
    expect(pool.stateOf(simulator.url)).toBe('up');
    expect(pool.isStuck(simulator.url)).toBe(false);
    expect(lease.lost.aborted).toBe(false);
    lease.release();
    expect((await rowOf()).state).toBe('up');
  });

  it('when the row still names a prompt the orchestrators found ComfyUI let go of (its finder gone, or its clearing failed) and one then finds the backend stuck on another, then the row names that one and the others take the backend for down too', async () => {
    pool = new BackendPool({ urls: [simulator.url], db, log, probeEveryMs: 60_000 });
    const other = new BackendPool({ urls: [simulator.url], db, log, probeEveryMs: 60_000 });
    try {
      await pool.start();
      await other.start();
      // The finder of 'let-go-of' stopped before it could clear its record: the row outlives the hang.
      await db.backend.update({ where: { id: backendIdFor(simulator.url) }, data: { stuckPromptId: 'let-go-of', stuckSince: new Date() } });
      await pool.refreshDrain();
      await other.refreshDrain();
      expect([pool.isStuck(simulator.url), other.isStuck(simulator.url)]).toEqual([false, false]);

      // The next prompt ComfyUI runs goes on past its interrupt here.
      pool.markStuck(simulator.url, running);
      expect(pool.stateOf(simulator.url)).toBe('down');
      // Before: the row kept 'let-go-of' (MARK_STUCK replaced only the prompt this process itself was
      // stuck on), and the other orchestrator, which had found that one let go of, kept the backend up
      // and sent it prompts that waited behind the hang until JOB_TIMEOUT_S failed their jobs.
      const row = await waitFor(async () => {
        const r = await rowOf();
        return r.stuckPromptId === running ? r : null;
      }, 'the row to name the prompt the backend is stuck on now', 3_000).catch(async () => rowOf());
      expect(row.stuckPromptId).toBe(running);
      await other.refreshDrain();
      expect(other.stateOf(simulator.url)).toBe('down');
    } finally {
      await other.close();
    }
  });

  it('when this orchestrator finds the backend stuck, then the row records the time its lastError tells, for the others to read', async () => {
    pool = new BackendPool({ urls: [simulator.url], db, log, probeEveryMs: 60_000 });
    await pool.start();
    pool.markStuck(simulator.url, running);
    const row = await waitFor(async () => {
      const r = await rowOf();
      return r.stuckPromptId === running && r.stuckSince && sinceIn(r.lastError) ? r : null;
    }, 'the row to record the stuck prompt', 5_000);
    expect(sinceIn(row.lastError)).toBe(row.stuckSince!.toISOString());
  });

  it('when this orchestrator finds a second prompt running past its interrupt while the backend is recorded stuck on a first, then the row names the second, since it was found', async () => {
    pool = new BackendPool({ urls: [simulator.url], db, log, probeEveryMs: 60_000 });
    await pool.start();
    pool.markStuck(simulator.url, 'first');
    await waitFor(async () => ((await rowOf()).stuckPromptId === 'first' ? true : null), 'the row to record the first', 5_000);
    // ComfyUI let go of the first, and the next prompt hangs (the one the simulator runs).
    pool.markStuck(simulator.url, running);
    const row = await waitFor(async () => {
      const r = await rowOf();
      return r.stuckPromptId === running && sinceIn(r.lastError) === r.stuckSince?.toISOString() ? r : null;
    }, 'the row to name the second', 5_000);
    expect(row.state).toBe('down');
  });
});
