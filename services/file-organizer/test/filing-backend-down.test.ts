import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Job } from 'bullmq';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { fileOrganizerConfigSchema } from '@anime/config';
import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { startFileOrganizer, type FileOrganizerOptions } from '../src/start';
import { enqueueFiling } from './enqueue-filing';

const log = createLogger('file-organizer', 'error');
const conditioning = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How often at most a waiting filing looks again here (15 s in production). */
const WAIT_STEP_MS = 500;
/**
 * The filing job's five tries back off from 20 ms here (the catalog's 1 s in production: 1 s, 2 s,
 * 4 s, 8 s, some 15 s in all), so they are all spent, were they spent, in about 0.3 s.
 */
const TRIES_BACKOFF_MS = 20;
/** How long the filing is watched waiting: far past its tries' 0.3 s, and some eight looks. */
const WATCHED_MS = 4_000;
const serviceOptions: FileOrganizerOptions = { waitStepMs: WAIT_STEP_MS };

/**
 * The backend that rendered a generation goes down before its outputs are filed (the simulator
 * closed, then started again on the same port over the same output folder, as a restarted ComfyUI
 * keeps its files on disk).
 */
describe('filing while the backend holding the outputs is down (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator | undefined;
  let port: number;
  let backendUrl: string;
  let outputDir: string;
  let libraryDir: string;
  let service: RunningService;
  let lifecycle: JobLifecycle;
  let config: ReturnType<typeof fileOrganizerConfigSchema.parse>;
  const queuePrefix = uniqueQueuePrefix('filing-backend-down');

  const backendUp = async () => {
    simulator ??= await startSimulator({ stepMs: 1, port, outputDir });
    port = simulator.port;
    backendUrl = simulator.url;
  };
  const backendDown = async () => {
    await simulator?.close();
    simulator = undefined;
  };

  beforeAll(async () => {
    database = await createTestDatabase('filing-backend-down');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    libraryDir = await mkdtemp(path.join(tmpdir(), 'filing-backend-down-library-'));
    outputDir = await mkdtemp(path.join(tmpdir(), 'filing-backend-down-output-'));
    port = 0;
    await backendUp();
    config = fileOrganizerConfigSchema.parse({ DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, FILE_ORGANIZER_PORT: '0' });
    service = await startFileOrganizer(config, log, serviceOptions);
  });

  afterAll(async () => {
    await service.stop();
    await backendDown();
    await db.$disconnect();
    await database.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
    await rm(outputDir, { recursive: true, force: true });
  });

  /** A generation whose prompt really ran on the backend, recorded as rendered; the backend then goes down and its filing job is queued. */
  async function renderedThenBackendDown(): Promise<{ id: string; outputBytes: Buffer }> {
    await backendUp();
    const character = await db.character.create({ data: { slug: `kai-${Date.now()}`, name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project: 'down', episode: 'ep01', scene: 'sc001' });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
    const workflow = textToImage({ steps: 1, width: 64, height: 64, seed: Math.floor(Math.random() * 1e9) });
    const client = new ComfyClient({ baseUrl: backendUrl, log });
    const result = await client.run(workflow).finally(() => client.close());
    await lifecycle.submit(job.id, { backend: backendUrl, promptId: result.promptId, workflow });
    await lifecycle.render(job.id, { backend: backendUrl, promptId: result.promptId, items: result.outputs });
    const output = result.outputs[0];
    const outputBytes = await readFile(path.join(outputDir, output.subfolder, output.filename));
    await backendDown();
    await enqueueFiling(service.ctx.queues, job, { triesBackoffMs: TRIES_BACKOFF_MS });
    return { id: job.id, outputBytes };
  }

  const filingJob = (id: string) => Job.fromId(service.ctx.queues.byKey.assetFiling, `filing-${id}`);
  const generation = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id }, include: { assets: true } });
  const filesOfJob = async (jobId: string) => (await readdir(libraryDir, { recursive: true })).filter((name) => name.includes(jobId));

  it('when the backend is down longer than the tries last, then the filing waits (delayed, no try spent, no worker slot held) through a restart of the service, and files once the backend is back with its files', async () => {
    const { id, outputBytes } = await renderedThenBackendDown();
    // Far past the time in which five tries would have been spent and the generation failed.
    const until = Date.now() + WATCHED_MS;
    while (Date.now() < until) {
      expect(await generation(id)).toMatchObject({ status: 'running', stage: 'rendered', errorCode: null });
      await sleep(500);
    }
    const waiting = (await filingJob(id))!;
    expect(waiting.attemptsMade).toBe(0);
    // Between its looks (each a moment active, longer on a loaded machine) it waits delayed.
    await waitFor(async () => (await waiting.getState()) === 'delayed' || null, 'the filing to wait delayed between its looks', 10_000, 100);
    expect((await filingJob(id))!.attemptsMade).toBe(0);
    expect(await filesOfJob(id)).toEqual([]);

    // Nothing in flight: the service stops at once, and the wait is in Redis, not in its memory.
    const stopping = Date.now();
    await service.stop();
    expect(Date.now() - stopping).toBeLessThan(3_000);
    await backendUp();
    service = await startFileOrganizer(config, log, serviceOptions);

    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.status !== 'running' ? g : null;
    }, 'the filing once the backend is back', 30_000);
    expect(row).toMatchObject({ status: 'completed', stage: 'filed' });
    expect(row.assets.map((a) => a.sha256)).toEqual([sha256(outputBytes)]);
    // BullMQ counts the try that completed it; the waits counted none. The row is filed before the
    // worker reports the job completed to Redis: its count is read once it is.
    await waitFor(async () => ((await filingJob(id))!.finishedOn ? true : null), 'the filing job to be completed in Redis', 10_000);
    expect((await filingJob(id))!.attemptsMade).toBe(1);
  }, 90_000);

  it('when the generation is canceled while its filing waits for the backend, then the filing job ends without filing anything and it stays canceled', async () => {
    const { id } = await renderedThenBackendDown();
    await waitFor(async () => (await (await filingJob(id))?.getState()) === 'delayed', 'the filing to wait for the backend');
    await lifecycle.cancel(id);
    // Ended at its next look (at most WAIT_STEP_MS later here, 15 s in production), by its admission; not failed, no try spent.
    await waitFor(async () => (await (await filingJob(id))?.getState()) === 'completed', 'the filing job to end', 20_000);
    expect(await generation(id)).toMatchObject({ status: 'canceled', stage: 'rendered', assets: [] });
    expect(await filesOfJob(id)).toEqual([]);
  }, 60_000);

  it('when the backend stays down past JOB_TIMEOUT_S from when the outputs were recorded, then the filing spends its tries and fails with filing_failed saying the backend is unreachable', async () => {
    await service.stop();
    service = await startFileOrganizer({ ...config, JOB_TIMEOUT_S: 3 }, log, serviceOptions);
    const { id } = await renderedThenBackendDown();
    const failed = await waitFor(async () => {
      const g = await generation(id);
      return g.status !== 'running' ? g : null;
    }, 'the filing to fail', 40_000);
    expect(failed).toMatchObject({ status: 'failed', stage: 'rendered', errorCode: 'filing_failed' });
    expect(failed.errorMessage).toMatch(/^ComfyUI at http:\/\/127\.0\.0\.1:\d+ unreachable \(GET \/view: ECONNREFUSED\) \(try 5 of 5\)$/);
    expect(await filesOfJob(id)).toEqual([]);
  }, 60_000);
});
