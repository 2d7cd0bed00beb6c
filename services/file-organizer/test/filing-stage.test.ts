import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Job, Queue } from 'bullmq';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { fileOrganizerConfigSchema } from '@anime/config';
import { generationRequestBodySchema, PIPELINE_CATALOG, registerWorkflowBodySchema } from '@anime/contracts';
import { createDb, poolOf, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createRedis, JobEventPublisher, JobLifecycle, loadGeneration, type RunningService } from '@anime/pipeline';
import { LocalLibraryStorage, partialPathFor } from '@anime/media';
import { registerWorkflow } from '@anime/workflows';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { libraryPath } from '../src/domain/library-path';
import { createFileOutputsHandler } from '../src/jobs/file-outputs.processor';
import { startFileOrganizer } from '../src/start';

const log = createLogger('file-organizer', 'error');
const conditioning = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('filing stage (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let client: ComfyClient;
  let service: RunningService;
  let libraryDir: string;
  let lifecycle: JobLifecycle;
  let config: ReturnType<typeof fileOrganizerConfigSchema.parse>;
  const queuePrefix = uniqueQueuePrefix('filing-stage');

  beforeAll(async () => {
    database = await createTestDatabase('filing-stage');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    libraryDir = await mkdtemp(path.join(tmpdir(), 'filing-stage-library-'));
    simulator = await startSimulator({ stepMs: 1 });
    client = new ComfyClient({ baseUrl: simulator.url, log });
    config = fileOrganizerConfigSchema.parse({ DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, FILE_ORGANIZER_PORT: '0' });
    service = await startFileOrganizer(config, log);
  });

  afterAll(async () => {
    await service.stop();
    await client.close();
    await simulator.close();
    await db.$disconnect();
    await database.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
  });

  /** A generation whose prompt really ran on the simulator, recorded as rendered. */
  async function renderedGeneration(beforeFiling?: (id: string) => Promise<unknown>, batch = 1): Promise<{ id: string; outputBytes: Buffer }> {
    const character = await db.character.create({ data: { slug: `kai-${Date.now()}`, name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project: 'demo', episode: 'ep01', scene: 'sc001' });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
    const workflow = textToImage({ steps: 1, width: 64, height: 64, batch });
    const result = await client.run(workflow);
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
    await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
    const output = result.outputs[0];
    const outputBytes = await readFile(path.join(simulator.outputDir, output.subfolder, output.filename));
    await beforeFiling?.(job.id);
    await service.ctx.queues.enqueueStage({ ...job, stage: 'rendered' });
    return { id: job.id, outputBytes };
  }

  const completed = (id: string) =>
    waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { assets: true } });
      return g.status === 'completed' ? g : null;
    }, 'the filing');

  it('when a rendered generation is filed, then the library holds ComfyUI exact bytes with a sidecar, one Asset records them and the generation completes at stage filed', async () => {
    const { id, outputBytes } = await renderedGeneration();
    const row = await completed(id);
    expect(row.stage).toBe('filed');
    expect(row.assets).toHaveLength(1);
    const asset = row.assets[0];
    expect(asset.path).toMatch(/^demo\/ep01\/sc001\/kai-\d+\/kai-\d+_v1_/);
    const filed = await readFile(path.join(libraryDir, asset.path));
    expect(sha256(filed)).toBe(sha256(outputBytes));
    expect(asset.sha256).toBe(sha256(outputBytes));
    const sidecar = JSON.parse(await readFile(path.join(libraryDir, `${asset.path}.json`), 'utf8'));
    expect(sidecar).toMatchObject({ jobId: id, sha256: asset.sha256, comfyui: { backend: simulator.url } });
    // The built-in txt2img applies the seed, both prompts and the LoRAs.
    expect(sidecar).toMatchObject({ seed: expect.any(Number), prompt: { positive: 'kainakamura', negative: 'lowres' }, loras: [], template: null });
  });

  it('when a rendered generation is filed through its queue, then the filing costs two statements: the read of the row, which claims the filing, and the record of its Assets with the completion', async () => {
    const query = jest.spyOn(poolOf(service.ctx.db), 'query');
    try {
      const { id } = await renderedGeneration();
      const row = await completed(id);
      const named = query.mock.calls
        .map(([statement]) => statement as unknown as { name?: string; values?: unknown[] })
        .filter((statement) => statement.name && statement.values?.[0] === id)
        .map((statement) => statement.name);
      expect(named).toEqual(['lifecycle-claim-filing-and-load', 'lifecycle-file-with-assets']);
      // Claimed by the read: the token the completion was recorded under is the one on the row.
      expect(row.filingToken).toEqual(expect.any(String));
    } finally {
      query.mockRestore();
    }
  });

  it('when the filing job of a completed generation comes again, then its read of the row claims nothing: the filing keeps the token it was completed under', async () => {
    const { id } = await renderedGeneration();
    const row = await completed(id);
    const queue = service.ctx.queues.byKey.assetFiling;
    await waitFor(async () => (await queue.getJobState(`filing-${id}`)) === 'completed', 'the filing job to complete');
    await queue.remove(`filing-${id}`);
    // A duplicate hand-off (a producer's, or the recovery sweep's): a fresh job, not a retry, so it ends as done.
    await service.ctx.queues.enqueueStage({ ...row, stage: 'rendered' });
    await waitFor(async () => (await queue.getJobState(`filing-${id}`)) === 'completed', 'the second filing job to complete');
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', filingToken: row.filingToken });
  });

  /**
   * A generation of the Mika Ink character (LoRA inkwash at 0.6) that ran the registered template
   * `slug` declaring `params`, rendered from its graph as the orchestrator binds it, then filed.
   */
  async function filedFromTemplate(slug: string, params: Record<string, unknown>) {
    const graph = textToImage({ steps: 1, width: 64, height: 64, positive: 'the template\'s own prompt', seed: 7 });
    await registerWorkflow(db, registerWorkflowBodySchema.parse({ slug, graph, params }));
    const character = await db.character.create({ data: { slug: `mika-${Date.now()}`, name: 'Mika Ink', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Mika Ink' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', seed: 1234, workflow: slug, project: 'demo', episode: 'ep01', scene: 'sc002' });
    const recorded = { ...conditioning, loras: [{ name: 'style/inkwash.safetensors', weight: 0.6 }], workflow: { slug, version: 1, params: {} } };
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning: recorded } });
    const result = await client.run(graph);
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow: graph });
    await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
    await service.ctx.queues.enqueueStage({ ...job, stage: 'rendered' });
    const row = await completed(job.id);
    return JSON.parse(await readFile(path.join(libraryDir, `${row.assets[0].path}.json`), 'utf8'));
  }

  it('when the template has no loras, prompt, negative or seed parameter, then the sidecar records no LoRA and a null seed and prompts: its graph applied none of them (README: Workflow templates)', async () => {
    const sidecar = await filedFromTemplate(`bare-${Date.now()}`, { steps: { type: 'int', node: '3', input: 'steps' } });
    expect(sidecar).toMatchObject({ loras: [], seed: null, prompt: { positive: null, negative: null }, request: { seed: 1234 } });
    expect(sidecar.workflow['6'].inputs.text).toBe("the template's own prompt");
  });

  it('when the template declares loras, prompt, negative and seed, then the sidecar records the character\'s LoRAs, the seed and both prompts', async () => {
    const sidecar = await filedFromTemplate(`full-${Date.now()}`, {
      prompt: { type: 'string', node: '6', input: 'text' },
      negative: { type: 'string', node: '7', input: 'text' },
      seed: { type: 'int', node: '3', input: 'seed' },
      loras: { type: 'loras', node: '4' },
    });
    expect(sidecar).toMatchObject({ loras: [{ name: 'style/inkwash.safetensors', weight: 0.6 }], seed: 1234, prompt: { positive: 'kainakamura', negative: 'lowres' } });
  });

  it('when the filing job of a completed generation is retried, then it is refused and nothing is filed twice', async () => {
    const { id } = await renderedGeneration();
    const row = await completed(id);
    const job = await Job.fromId(service.ctx.queues.byKey.assetFiling, `filing-${id}`);
    await waitFor(async () => (await job!.getState()) === 'completed', 'the filing job to complete');
    await job!.retry('completed');
    // The state first, then the job: a job read while still active would lack its failedReason.
    const refused = await waitFor(async () => ((await service.ctx.queues.byKey.assetFiling.getJobState(`filing-${id}`)) === 'failed' ? Job.fromId(service.ctx.queues.byKey.assetFiling, `filing-${id}`) : null), 'the retried filing job to be refused');
    expect(refused!.failedReason).toMatch(/is completed: asset-filing has nothing to run again/);
    const folder = path.join(libraryDir, path.dirname(row.assets[0].path));
    expect((await readdir(folder)).sort()).toEqual([path.basename(row.assets[0].path), `${path.basename(row.assets[0].path)}.json`]);
    expect(await db.asset.count({ where: { jobId: id } })).toBe(1);
  });

  it('when an earlier filing was killed mid-write, then filing again leaves the image and its sidecar and none of the temp files it left', async () => {
    let folder = '';
    const { id } = await renderedGeneration(async (generationId) => {
      // What a SIGKILL between open and rename leaves: temp files of the image and of its sidecar.
      const generation = await db.generationJob.findUniqueOrThrow({ where: { id: generationId }, include: { character: true } });
      const target = path.join(libraryDir, libraryPath({ project: 'demo', episode: 'ep01', scene: 'sc001', shot: null, characterSlug: generation.character!.slug, version: 1, jobId: generationId, index: 0, extension: 'png' }));
      folder = path.dirname(target);
      await mkdir(folder, { recursive: true });
      await writeFile(partialPathFor(target), 'half an image');
      await writeFile(partialPathFor(`${target}.json`), '{"half');
    });
    const row = await completed(id);
    expect((await readdir(folder)).sort()).toEqual([path.basename(row.assets[0].path), `${path.basename(row.assets[0].path)}.json`]);
  });

  /** Every file of the job's outputs in the library, temp files included, whatever their folder. */
  const filesOfJob = async (jobId: string) => (await readdir(libraryDir, { recursive: true })).filter((name) => name.includes(jobId));

  it('when a recorded output is not on the backend any more, then the generation fails with filing_failed, stays at stage rendered, and the outputs filed before it do not stay in the library', async () => {
    // The second of two outputs is gone: the first was written before the fetch of the second failed.
    const { id } = await renderedGeneration((generationId) => db.$executeRaw`UPDATE generation_jobs SET outputs = jsonb_set(outputs, '{items,1,filename}', '"gone.png"') WHERE id = ${generationId}::uuid`, 2);
    const failed = await waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id } });
      return g.status === 'failed' ? g : null;
    }, 'the filing to fail', 40_000);
    expect(failed).toMatchObject({ stage: 'rendered', errorCode: 'filing_failed' });
    expect(failed.errorDetails).toMatchObject({ status: 404 });
    expect(await filesOfJob(id)).toEqual([]);
    expect(await db.asset.count({ where: { jobId: id } })).toBe(0);
  }, 60_000);

  it('when /view hands over only the start of the image (a Content-Length that lied), then the generation fails with filing_failed saying it is cut short, and nothing is filed', async () => {
    try {
      const { id } = await renderedGeneration(async () => simulator.misbehave({ kind: 'view_bytes', rewrite: (bytes) => bytes.subarray(0, 100) }));
      const failed = await waitFor(async () => {
        const g = await db.generationJob.findUniqueOrThrow({ where: { id } });
        return g.status === 'failed' || g.status === 'completed' ? g : null;
      }, 'the filing to end', 40_000);
      expect(failed).toMatchObject({ status: 'failed', stage: 'rendered', errorCode: 'filing_failed' });
      expect(failed.errorMessage).toMatch(/is cut short: its PNG data ends before the IEND chunk \(100 bytes from http/);
      expect(await filesOfJob(id)).toEqual([]);
      expect(await db.asset.count({ where: { jobId: id } })).toBe(0);
    } finally {
      simulator.misbehave(undefined);
    }
  });

  it('when recording the Assets fails after every file was written (outputs listing one file twice), then the generation fails and no file of it stays in the library', async () => {
    // What an orchestrator recorded when ComfyUI's history listed an image twice: two outputs, one source.
    const { id } = await renderedGeneration((generationId) => db.$executeRaw`UPDATE generation_jobs SET outputs = jsonb_set(outputs, '{items}', (outputs->'items') || (outputs->'items')) WHERE id = ${generationId}::uuid`);
    const failed = await waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id } });
      return g.status === 'failed' ? g : null;
    }, 'the filing to fail', 50_000);
    expect(failed).toMatchObject({ stage: 'rendered', errorCode: 'filing_failed' });
    expect(await filesOfJob(id)).toEqual([]);
    expect(await db.asset.count({ where: { jobId: id } })).toBe(0);
  }, 60_000);

  it('when a rendered generation is canceled before filing, then its filing job files nothing, and removes what a try killed between writing and recording left', async () => {
    const { id } = await renderedGeneration(async (generationId) => {
      // A try that wrote the image and its sidecar, then died before its statement committed.
      const generation = await db.generationJob.findUniqueOrThrow({ where: { id: generationId }, include: { character: true } });
      const target = path.join(libraryDir, libraryPath({ project: 'demo', episode: 'ep01', scene: 'sc001', shot: null, characterSlug: generation.character!.slug, version: 1, jobId: generationId, index: 0, extension: 'png' }));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, 'an image');
      await writeFile(`${target}.json`, '{}');
      await writeFile(partialPathFor(target), 'half an image');
      await lifecycle.cancel(generationId);
    });
    const job = await waitFor(() => Job.fromId(service.ctx.queues.byKey.assetFiling, `filing-${id}`), 'the filing job');
    await waitFor(async () => (await job!.getState()) === 'completed', 'the filing job to complete');
    expect(await db.asset.count({ where: { jobId: id } })).toBe(0);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'canceled', stage: 'rendered' });
    expect(await filesOfJob(id)).toEqual([]);
  });

  it('when a generation is canceled while its outputs are being filed, then what was written is removed and it stays canceled', async () => {
    const character = await db.character.create({ data: { slug: `kai-race-${Date.now()}`, name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project: 'race', episode: 'ep01', scene: 'sc001' });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
    const workflow = textToImage({ steps: 1, width: 64, height: 64 });
    const result = await client.run(workflow);
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
    await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });

    const handler = createFileOutputsHandler({
      db,
      events: new JobEventPublisher(service.ctx.redis, queuePrefix),
      storage: new LocalLibraryStorage(libraryDir),
      log,
      // The cancel lands while the output is being fetched, after the stage was admitted.
      fetchOutput: async (_backend, output) => {
        await lifecycle.cancel(job.id);
        return readFile(path.join(simulator.outputDir, output.subfolder, output.filename));
      },
    });
    const outcome = await handler.run((await loadGeneration(db, job.id))!, { job: {} as Job, log });
    expect(outcome.reached).toBeUndefined();
    expect(await db.asset.count({ where: { jobId: job.id } })).toBe(0);
    expect(await readdir(path.join(libraryDir, 'race'), { recursive: true }).then((entries) => entries.filter((e) => e.endsWith('.png') || e.endsWith('.json')))).toEqual([]);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ status: 'canceled', stage: 'rendered' });
  });
  it('when many generations are filed into one folder, then the folder is listed for temp files once per process, and again on a try that may follow a cut write', async () => {
    const character = await db.character.create({ data: { slug: `kai-folder-${Date.now()}`, name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const storage = new LocalLibraryStorage(libraryDir);
    const listings = jest.spyOn(storage, 'removeLeftovers');
    const handler = createFileOutputsHandler({
      db,
      events: new JobEventPublisher(service.ctx.redis, queuePrefix),
      storage,
      log,
      fetchOutput: (_backend, output) => readFile(path.join(simulator.outputDir, output.subfolder, output.filename)),
    });
    const fileOne = async (bullJob: Partial<Job>) => {
      const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project: 'folder', episode: 'ep01', scene: 'sc001' });
      const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
      const workflow = textToImage({ steps: 1, width: 64, height: 64, seed: Math.floor(Math.random() * 1e9) });
      const result = await client.run(workflow);
      await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
      await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
      expect((await handler.run((await loadGeneration(db, job.id))!, { job: bullJob as Job, log })).reached).toBe('filed');
      return listings.mock.calls.length;
    };
    expect(await fileOne({ attemptsMade: 0, stalledCounter: 0 })).toBe(1);
    expect(await fileOne({ attemptsMade: 0, stalledCounter: 0 })).toBe(1);
    expect(await fileOne({ attemptsMade: 0, stalledCounter: 0 })).toBe(1);
    // A stalled job (its worker was killed) or a retry may follow a write cut short: listed again.
    expect(await fileOne({ attemptsMade: 0, stalledCounter: 1 })).toBe(2);
    expect(await fileOne({ attemptsMade: 1, stalledCounter: 0 })).toBe(3);
    expect(await db.asset.count({ where: { project: 'folder' } })).toBe(5);
  });

  it('when the service stops while a backend holds back an output (GET /view unanswered), then the filing job is handed back to its queue with its tries untouched, nothing of it stays in the library, and the next process files it', async () => {
    let answer!: () => void;
    simulator.misbehave({ kind: 'held', path: '/view', until: new Promise<void>((resolve) => (answer = resolve)) });
    const heldViews = () => simulator.misbehaviours.filter((r) => r.path === '/view').length;
    const { id, outputBytes } = await renderedGeneration();
    await waitFor(() => heldViews() > 0, "the filing's GET /view to reach the backend");
    await service.stop();
    try {
      // Handed back at once (the fetch cut off), not left active for the stall check once its lock lapses.
      const redis = createRedis(TEST_REDIS_URL);
      const filing = new Queue(PIPELINE_CATALOG.assetFiling.name, { connection: redis, prefix: queuePrefix });
      try {
        expect(await filing.getJobState(`filing-${id}`)).toMatch(/^(waiting|prioritized)$/);
        expect((await Job.fromId(filing, `filing-${id}`))!.attemptsMade).toBe(0);
      } finally {
        await filing.close();
        redis.disconnect();
      }
      expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered', errorCode: null });
      expect(await filesOfJob(id)).toEqual([]);
    } finally {
      // Answered even when an expectation failed: the simulator closes only once its held request is.
      simulator.misbehave(undefined);
      answer();
    }
    service = await startFileOrganizer(config, log);
    const row = await completed(id);
    expect(row.assets.map((a) => a.sha256)).toEqual([sha256(outputBytes)]);
    expect(heldViews()).toBe(1);
  });
});
