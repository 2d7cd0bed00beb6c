import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createTestDatabase, waitFor, type TestDatabase } from '@anime/testing';
import { BackendPool } from '../src/domain/backend-pool';
import { backendIdFor } from '../src/domain/backends/backend-id';
import { queuedByAnEarlierProcess } from './earlier-prompt';

/**
 * GET /api/v1/backends shows the `backends` row as the orchestrator writes it. A backend that stops
 * answering is not known to hold anything (a restarted ComfyUI has lost its queue): its row must not
 * go on telling the queue and the busy flag it had before, or a dashboard that sums queue depths sees
 * work that is not known to be there.
 */
describe('the backends row of a backend that went down', () => {
  let database: TestDatabase;
  let db: Db;
  let sim: Simulator | undefined;
  let pool: BackendPool | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('row-when-down');
    db = createDb(database.url, { max: 3 });
  });

  afterAll(async () => {
    sim?.releaseWorker();
    await pool?.close();
    await sim?.close();
    await db?.$disconnect();
    await database?.drop();
  });

  /**
   * A simulator of its own behind a pool probing it every 200 ms, holding two prompts of another
   * process (the first runs for good, the second waits behind it), once the row tells them.
   */
  async function backendHoldingTwoPrompts(seeds: [number, number]) {
    await pool?.close();
    await sim?.close();
    sim = await startSimulator({ stepMs: 20 });
    const url = sim.url;
    const id = backendIdFor(url);
    pool = new BackendPool({ urls: [url], db, log: createLogger('orchestrator', 'error'), probeEveryMs: 200 });
    await pool.start();
    sim.hangWorker();
    const hung = await queuedByAnEarlierProcess(url, textToImage({ steps: 2, width: 64, height: 64, seed: seeds[0] }));
    const waiting = await queuedByAnEarlierProcess(url, textToImage({ steps: 2, width: 64, height: 64, seed: seeds[1] }));
    const busyUp = await waitFor(() => db.backend.findFirst({ where: { id, state: 'up', queueDepth: 2 } }), 'the row to tell the backend up with its two prompts', 5_000);
    return { simulator: sim, url, id, hung, waiting, busyUp };
  }

  it('when a backend holding prompts stops answering, then its row tells it down with no queue and not busy (nothing of ours runs there), and up and idle once it is back with a fresh queue', async () => {
    const { simulator, url, id, busyUp } = await backendHoldingTwoPrompts([1, 2]);
    expect(busyUp).toMatchObject({ busy: true, inFlight: 0 });

    // ComfyUI goes away (killed, or restarting with a fresh queue), its prompts still queued.
    await simulator.close();
    sim = undefined;

    const down = await waitFor(() => db.backend.findFirst({ where: { id, state: 'down' } }), 'the row to tell the backend down', 10_000);
    expect(down).toMatchObject({ state: 'down', queueDepth: 0, busy: false, inFlight: 0 });
    // Its later failed probes keep it so.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await db.backend.findUniqueOrThrow({ where: { id } })).toMatchObject({ state: 'down', queueDepth: 0, busy: false, lastError: expect.any(String) });

    // ComfyUI back on the same port, its queue empty: the row tells it up and idle from its first write.
    sim = await startSimulator({ stepMs: 20, port: Number(new URL(url).port) });
    const up = await waitFor(() => db.backend.findFirst({ where: { id, state: 'up' } }), 'the row to tell the backend up again', 10_000);
    expect(up).toMatchObject({ queueDepth: 0, busy: false, lastError: null });
  });

  it('when a backend is down because its worker is stuck, then it answers still and its row tells its queue as it is now, not as it was when it got stuck', async () => {
    const { url, id, hung, waiting } = await backendHoldingTwoPrompts([3, 4]);

    // Another orchestrator found it stuck on the hung prompt: this pool takes it for down too.
    await db.backend.update({ where: { id }, data: { stuckPromptId: hung, stuckSince: new Date() } });
    await waitFor(() => pool!.stateOf(url) === 'down' || null, 'the pool to take the backend for down', 5_000);

    // The prompt waiting behind the stuck one leaves ComfyUI's queue: the row follows, down and busy still.
    const deleted = await fetch(`${url}/queue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delete: [waiting] }) });
    expect(deleted.status).toBe(200);
    const row = await waitFor(() => db.backend.findFirst({ where: { id, queueDepth: 1 } }), 'the row to tell the one prompt left', 5_000);
    expect(row).toMatchObject({ state: 'down', busy: true, lastError: expect.stringMatching(/^ComfyUI's worker is stuck: prompt /) });
  });
});
