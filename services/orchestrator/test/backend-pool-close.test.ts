import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle } from '@anime/pipeline';
import { createTestDatabase, waitFor, type TestDatabase } from '@anime/testing';
import { BackendPool } from '../src/domain/backend-pool';
import { queuedByAnEarlierProcess } from './earlier-prompt';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The pool sweeps the prompts abandoned on a backend (taken off once it answers again) at its probe
 * ticks. A sweep in flight when the pool closes must not go on sending requests to the backend,
 * nor reading the database, once close() has resolved (the service disconnects PostgreSQL next).
 */
describe('BackendPool.close() with a sweep of abandoned prompts in flight (pool in-process, simulator, PostgreSQL)', () => {
  let database: TestDatabase;
  let db: Db;
  let lifecycle: JobLifecycle;
  let character: { id: string; versionId: string };
  let simulator: Simulator;
  let pool: BackendPool | undefined;
  const log = createLogger('orchestrator', 'error');

  beforeAll(async () => {
    database = await createTestDatabase('pool-close');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    const row = await db.character.create({ data: { slug: 'kai-nakamura', name: 'Kai Nakamura', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: row.id, number: 1, definition: { displayName: 'Kai Nakamura' } } });
    character = { id: row.id, versionId: version.id };
  });

  // A simulator per case: each holds one abandoned prompt, running, that a sweep would interrupt.
  beforeEach(async () => {
    simulator = await startSimulator({ stepMs: 200 });
  });

  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    await simulator?.close();
  });

  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  /** A prompt running on the simulator whose attempt ended with an error: a sweep interrupts it. */
  async function abandonedPrompt(): Promise<{ jobId: string; promptId: string }> {
    const workflow = textToImage({ steps: 150, width: 64, height: 64, seed: 1 });
    const promptId = await queuedByAnEarlierProcess(simulator.url, workflow);
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'on a rooftop', steps: 150, width: 64, height: 64, seed: 1 });
    const resolution = { characterId: character.id, characterVersionId: character.versionId, conditioning: { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null } };
    const { job } = await lifecycle.create({ body, source: 'test', resolution });
    await lifecycle.submit(job.id, { backend: simulator.url, promptId, workflow });
    await lifecycle.fail(job.id, { code: 'timeout', message: 'timed out while its backend was cut off' });
    return { jobId: job.id, promptId };
  }

  /** The pool probing every 100 ms, its sweep's GET /queue held until `release` is called. */
  async function poolWithHeldSweep(): Promise<{ release: () => void; heldQueueReads: () => number }> {
    const { jobId, promptId } = await abandonedPrompt();
    let release!: () => void;
    simulator.misbehave({ kind: 'held', path: '/queue', until: new Promise<void>((resolve) => (release = resolve)) });
    pool = new BackendPool({ urls: [simulator.url], db, log, probeEveryMs: 100 });
    await pool.start();
    pool.abandon(simulator.url, jobId, promptId);
    const heldQueueReads = () => simulator.misbehaviours.filter((r) => r.path === '/queue').length;
    await waitFor(() => heldQueueReads() > 0, "the sweep's GET /queue to reach the backend", 5_000);
    return { release, heldQueueReads };
  }

  it('when close() is called while the sweep waits for the backend, then it resolves only once that answer came and the sweep ended, and nothing reaches the backend after', async () => {
    const { release, heldQueueReads } = await poolWithHeldSweep();
    let closedAt: number | undefined;
    const closing = pool!.close().then(() => (closedAt = Date.now()));
    // Well within the 1 s close() waits at most, however late a loaded machine fires timers.
    await sleep(100);
    expect(closedAt).toBeUndefined();
    const answeredAt = Date.now();
    release();
    await closing;
    expect(closedAt).toBeGreaterThanOrEqual(answeredAt);
    // Several probe periods: no interrupt or delete from the sweep, no new tick's GET /queue.
    await sleep(500);
    expect(simulator.controls).toEqual([]);
    expect(heldQueueReads()).toBe(1);
  });

  it('when the backend does not answer the sweep (a request times out only after 30 s), then close() still resolves within about a second, and the sweep sends nothing once the answer comes', async () => {
    const { release, heldQueueReads } = await poolWithHeldSweep();
    const startedAt = Date.now();
    await pool!.close();
    // 1 s of waiting, with room for a loaded machine: far below the request's own 30 s timeout.
    expect(Date.now() - startedAt).toBeLessThan(4_000);
    release();
    await sleep(500);
    expect(simulator.controls).toEqual([]);
    expect(heldQueueReads()).toBe(1);
  });

  it('when close() is called while a read of the models routing asked for waits its turn (one per backend every 5 s), then that read is never sent', async () => {
    // Every /object_info answered as usual, and counted.
    simulator.misbehave({ kind: 'held', path: '/object_info', until: Promise.resolve() });
    pool = new BackendPool({ urls: [simulator.url], db, log, probeEveryMs: 100 });
    await pool.start();
    const modelReads = () => simulator.misbehaviours.filter((r) => r.path === '/object_info').length;
    // A refusal for a model the backend lists: read again at once, then the next asks wait out 5 s.
    await pool.modelsRefused(simulator.url, ['gone.safetensors'], Date.now());
    const readsBefore = modelReads();
    const waiting = pool.modelsRefused(simulator.url, ['gone.safetensors'], Date.now());
    await pool.close();
    await Promise.race([waiting, sleep(6_000)]);
    await sleep(500);
    expect(modelReads()).toBe(readsBefore);
  }, 20_000);
});
