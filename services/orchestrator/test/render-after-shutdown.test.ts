import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { textToImage, type Simulator } from '@anime/comfyui-simulator';
import { createLogger } from '@anime/logger';
import { LocalLibraryStorage, sha256Hex } from '@anime/media';
import { createRedis, loadGeneration, type StageHandler } from '@anime/pipeline';
import { TEST_REDIS_URL } from '@anime/testing';
import { BackendPool } from '../src/domain/backend-pool';
import { ReferenceStager } from '../src/domain/reference-stager';
import { CancelRequests } from '../src/jobs/cancel-requests';
import { createRenderPromptHandler } from '../src/jobs/render-prompt.processor';
import { listenToJobEvents } from './job-events-listener';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * closeWorkers aborts the render's signal (the grace is over) while the job is between attempts:
 * a backend free at once must not take a new attempt then. The job is handed back as it is (the
 * error thrown is the signal's reason, what the stage worker hands back), and the next process
 * places it; nothing is recorded, published or posted for an attempt this process will not follow.
 */
// The simulator moves bytes and never decodes references: a PNG's name will do.
const FACE_BYTES = Buffer.from('a face close-up');
const FACE = { id: 'ref-face', label: 'face close-up', kind: 'face' as const, sha256: sha256Hex(FACE_BYTES), path: 'references/kai/face.png' };

describe('a render placed after the shutdown aborted its signal (handler in-process, a free simulator)', () => {
  let fx: OrchestratorFixture;
  let simulator: Simulator;
  let pool: BackendPool;
  let cancels: CancelRequests;
  let libraryDir: string;
  let render: StageHandler<'generationRenders'>;
  const log = createLogger('orchestrator', 'error');

  beforeAll(async () => {
    // With IP-Adapter: a job with a face reference would upload it there before its attempt.
    fx = await startOrchestratorFixture('render-after-shutdown', { simulators: [{ stepMs: 5, customNodes: ['ipadapter'] }] });
    [simulator] = fx.simulators;
    // A handler of its own over the fixture's database, Redis and simulator: the fixture's workers never see these jobs.
    pool = new BackendPool({ urls: [simulator.url], db: fx.db, log });
    await pool.start();
    libraryDir = await mkdtemp(path.join(tmpdir(), 'render-after-shutdown-'));
    cancels = new CancelRequests({ db: fx.db, subscriber: createRedis(TEST_REDIS_URL, 'subscriber'), queuePrefix: fx.service.ctx.queuePrefix, log });
    const storage = new LocalLibraryStorage(libraryDir);
    await storage.write(FACE.path, FACE_BYTES);
    const stager = new ReferenceStager({ db: fx.db, storage, log });
    render = createRenderPromptHandler({ db: fx.db, events: fx.service.ctx.events, log, pool, stager, cancels });
  });

  afterAll(async () => {
    await cancels?.stop();
    await pool?.close();
    await fx?.close();
    if (libraryDir) await rm(libraryDir, { recursive: true, force: true });
  });

  /** Runs the render as the stage worker would, with the signal closeWorkers has already aborted. */
  async function renderAfterShutdown(id: string): Promise<{ thrown: unknown; reason: unknown }> {
    const shutdown = new AbortController();
    shutdown.abort('the worker is closing');
    const generation = (await loadGeneration(fx.db, id))!;
    const thrown = await render.run(generation, { job: { attemptsMade: 0 } as Job, log, signal: shutdown.signal }).then(
      () => undefined,
      (error: unknown) => error,
    );
    return { thrown, reason: shutdown.signal.reason };
  }

  const posted = (id: string) => simulator.received.filter((p) => JSON.stringify(p).includes(id));

  it('when a generation never submitted is placed on a free backend, then no attempt is recorded, no job:submitted stored or published, nothing posted, and the signal reason is thrown (handed back)', async () => {
    const { id } = await fx.createdGeneration({ seed: 1 });
    const { published, close } = await listenToJobEvents(fx.service.ctx.queuePrefix);
    try {
      const { thrown, reason } = await renderAfterShutdown(id);
      expect(thrown).toBe(reason);
      expect(await fx.db.jobAttempt.count({ where: { jobId: id } })).toBe(0);
      expect((await fx.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type)).toEqual(['job:queued']);
      expect(await fx.db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'queued', promptId: null });
      // A publish would have reached the listener by the time the handler returned (one connection, in order); a round trip more to be sure.
      await fx.service.ctx.redis.ping();
      expect(published.filter((e) => e.jobId === id)).toEqual([]);
      expect(posted(id)).toEqual([]);
    } finally {
      close();
    }
  });

  it('when a generation with a face reference is placed on a free backend with IP-Adapter, then the reference is not uploaded there either (the pool hands out no backend once the signal is aborted)', async () => {
    const { id } = await fx.createdGeneration({ seed: 3 }, { references: [FACE] });
    const uploadsBefore = simulator.uploads.length;
    const { thrown, reason } = await renderAfterShutdown(id);
    expect(thrown).toBe(reason);
    expect(simulator.uploads.length).toBe(uploadsBefore);
    expect(await fx.db.jobAttempt.count({ where: { jobId: id } })).toBe(0);
    expect(posted(id)).toEqual([]);
  });

  it('when a generation whose backend is gone fails over to a free backend, then its open attempt stays as it was, no job:retrying is stored or published, nothing posted, and the signal reason is thrown (handed back)', async () => {
    const { id } = await fx.createdGeneration({ seed: 2 });
    // Submitted by an earlier process on a backend no longer configured here: the job fails over.
    await fx.lifecycle.submit(id, { backend: 'http://127.0.0.1:9/', promptId: 'earlier-prompt', workflow: textToImage({ steps: 2, width: 64, height: 64, seed: 2 }) });
    const before = await fx.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
    const { published, close } = await listenToJobEvents(fx.service.ctx.queuePrefix);
    try {
      const { thrown, reason } = await renderAfterShutdown(id);
      expect(thrown).toBe(reason);
      const attempts = await fx.db.jobAttempt.findMany({ where: { jobId: id } });
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({ promptId: 'earlier-prompt', finishedAt: null });
      expect((await fx.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type)).toEqual(before.map((e) => e.type));
      await fx.service.ctx.redis.ping();
      expect(published.filter((e) => e.jobId === id)).toEqual([]);
      expect(posted(id)).toEqual([]);
    } finally {
      close();
    }
  });
});
