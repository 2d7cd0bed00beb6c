import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, databaseStatements, poolOf, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { LibraryNotAnsweringError, libraryReadTimeoutMs, LocalLibraryStorage } from '@anime/media';
import { createRedis, JobEventPublisher, JobLifecycle, loadAssetResources, loadGeneration } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { libraryPath } from '../src/domain/library-path';
import { createFileOutputsHandler, type FileOutputsDeps } from '../src/jobs/file-outputs.processor';

const log = createLogger('file-organizer', 'error');
const conditioning = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const firstTry = { job: { attemptsMade: 0, stalledCounter: 0 } as Job, log };

describe('filing records (handler in-process, simulator, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let redis: Redis;
  let simulator: Simulator;
  let client: ComfyClient;
  let libraryDir: string;
  let lifecycle: JobLifecycle;
  let character: { id: string; slug: string };
  let versionId: string;
  const queuePrefix = uniqueQueuePrefix('filing-records');

  beforeAll(async () => {
    database = await createTestDatabase('filing-records');
    db = createDb(database.url, { max: 3 });
    redis = createRedis(TEST_REDIS_URL);
    lifecycle = new JobLifecycle(db);
    libraryDir = await mkdtemp(path.join(tmpdir(), 'filing-records-library-'));
    simulator = await startSimulator({ stepMs: 1 });
    client = new ComfyClient({ baseUrl: simulator.url, log });
    character = await db.character.create({ data: { slug: 'kai-records', name: 'Kai', currentVersion: 1 } });
    versionId = (await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } })).id;
  });

  afterAll(async () => {
    client.close();
    await simulator.close();
    redis.disconnect();
    await db.$disconnect();
    await database.drop();
    await rm(libraryDir, { recursive: true, force: true });
    await removeQueueKeys(queuePrefix);
  });

  const handlerWith = (fetchOutput?: FileOutputsDeps['fetchOutput'], storage = new LocalLibraryStorage(libraryDir)) =>
    createFileOutputsHandler({
      db,
      events: new JobEventPublisher(redis, queuePrefix),
      storage,
      log,
      fetchOutput: fetchOutput ?? ((_backend, output) => readFile(path.join(simulator.outputDir, output.subfolder, output.filename))),
    });

  /** A generation whose prompt ran on the simulator, recorded as rendered; its output's bytes and library path. */
  async function rendered(scene: string): Promise<{ id: string; bytes: Buffer; target: string; sourceKey: string }> {
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project: 'records', episode: 'ep01', scene });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: versionId, conditioning } });
    const workflow = textToImage({ steps: 1, width: 64, height: 64, seed: Math.floor(Math.random() * 1e9) });
    const result = await client.run(workflow);
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
    await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
    const output = result.outputs[0];
    const bytes = await readFile(path.join(simulator.outputDir, output.subfolder, output.filename));
    const target = libraryPath({ project: 'records', episode: 'ep01', scene, shot: null, characterSlug: character.slug, version: 1, jobId: job.id, index: 0, extension: 'png' });
    return { id: job.id, bytes, target, sourceKey: `${output.nodeId}/${output.type}/${output.subfolder}/${output.filename}` };
  }

  /** What a filing that recorded its output on its own, then crashed before completing the job, left. */
  const recordedEarlier = (id: string, sourceKey: string, at: string, bytes: Buffer) =>
    db.asset.create({
      data: {
        jobId: id, characterVersionId: versionId, sourceKey, path: at, sha256: sha256(bytes), bytes: bytes.length, width: 64, height: 64, mime: 'image/png',
        project: 'records', episode: 'ep01', scene: 'earlier', metadata: { outfit: null, references: [] },
      },
    });

  const folderOf = async (target: string) => (await readdir(path.join(libraryDir, path.dirname(target)))).sort();

  it('when a rendered generation is filed, then its Asset and its completion are one statement after the claim of the filing, and the job:completed event names the Assets as they are stored', async () => {
    const { id, bytes, target } = await rendered('sc001');
    const generation = (await loadGeneration(db, id))!;
    const before = databaseStatements();
    const query = jest.spyOn(poolOf(db), 'query');
    try {
      expect((await handlerWith().run(generation, firstTry)).reached).toBe('filed');
      // The try claims the filing before it writes (another try may be writing the same paths), then records.
      expect(query.mock.calls.map(([statement]) => (statement as unknown as { name: string }).name)).toEqual(['lifecycle-claim-filing', 'lifecycle-file-with-assets']);
    } finally {
      query.mockRestore();
    }
    expect(databaseStatements() - before).toBe(2);
    const assets = await db.asset.findMany({ where: { jobId: id } });
    expect(assets).toMatchObject([{ path: target, sha256: sha256(bytes), bytes: bytes.length, width: 64, height: 64, mime: 'image/png', status: 'active' }]);
    const event = await db.jobEvent.findFirstOrThrow({ where: { jobId: id, type: 'job:completed' } });
    expect((event.payload as { assets: unknown }).assets).toEqual(JSON.parse(JSON.stringify(await loadAssetResources(db, id))));
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', stage: 'filed' });
  });

  it('when an earlier filing recorded the output and crashed before completing, then filing again keeps its record, one file and its sidecar', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc002');
    const earlier = await recordedEarlier(id, sourceKey, target, bytes);
    expect((await handlerWith().run((await loadGeneration(db, id))!, firstTry)).reached).toBe('filed');
    expect(await db.asset.findMany({ where: { jobId: id } })).toMatchObject([{ id: earlier.id, path: target, sha256: sha256(bytes) }]);
    expect(await folderOf(target)).toEqual([path.basename(target), `${path.basename(target)}.json`]);
    expect(sha256(await readFile(path.join(libraryDir, target)))).toBe(sha256(bytes));
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', stage: 'filed' });
  });

  it('when an earlier record names another path, then the image and its sidecar land there and nothing stays at the path this try wrote', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc003');
    const elsewhere = `records/ep01/sc003/elsewhere/${path.basename(target)}`;
    await recordedEarlier(id, sourceKey, elsewhere, Buffer.from('what a cut write left'));
    expect((await handlerWith().run((await loadGeneration(db, id))!, firstTry)).reached).toBe('filed');
    expect(await db.asset.findMany({ where: { jobId: id } })).toMatchObject([{ path: elsewhere, sha256: sha256(bytes) }]);
    expect(sha256(await readFile(path.join(libraryDir, elsewhere)))).toBe(sha256(bytes));
    expect(JSON.parse(await readFile(path.join(libraryDir, `${elsewhere}.json`), 'utf8'))).toMatchObject({ jobId: id, file: path.basename(elsewhere), sha256: sha256(bytes) });
    expect(await folderOf(target)).toEqual([]);
  });

  it('when an earlier record names another path and the library stops answering the read of what this try wrote, then the try fails within the read bound (the library not answering), not hanging on with its slot', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc007');
    await recordedEarlier(id, sourceKey, `records/ep01/sc007/elsewhere/${path.basename(target)}`, Buffer.from('what a cut write left'));
    // A hung mount's read: an open of a FIFO no writer has opened blocks in a libuv thread, as a read of a hung NFS mount blocks in the kernel.
    const fifo = path.join(libraryDir, 'hung-read.fifo');
    execFileSync('mkfifo', [fifo]);
    const storage = new LocalLibraryStorage(libraryDir);
    storage.read = () => readFile(fifo);
    const started = Date.now();
    let limit: NodeJS.Timeout | undefined;
    try {
      // Before: the read was not bounded, and the try (its job active, its worker slot held) waited for as long as the mount hung.
      const outcome = await Promise.race([
        handlerWith(undefined, storage).run((await loadGeneration(db, id))!, firstTry).then(() => 'filed', (error: unknown) => error),
        new Promise((resolve) => (limit = setTimeout(() => resolve('still waiting'), libraryReadTimeoutMs(bytes.length) + 10_000))),
      ]);
      expect(outcome).toBeInstanceOf(LibraryNotAnsweringError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(libraryReadTimeoutMs(bytes.length) - 50);
      expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered' });
    } finally {
      clearTimeout(limit);
      // The mount answering: the read left behind ends (EOF), freeing its libuv thread.
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      await rm(fifo, { force: true });
    }
  }, 30_000);

  it('when the output is gone from the backend but an earlier filing recorded it intact, then the job completes with that record', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc004');
    await new LocalLibraryStorage(libraryDir).writeAll([{ path: target, bytes }]);
    const earlier = await recordedEarlier(id, sourceKey, target, bytes);
    const gone = handlerWith(async () => {
      throw new Error('404 from /view');
    });
    expect((await gone.run((await loadGeneration(db, id))!, firstTry)).reached).toBe('filed');
    const event = await db.jobEvent.findFirstOrThrow({ where: { jobId: id, type: 'job:completed' } });
    expect((event.payload as { assets: { id: string }[] }).assets.map((a) => a.id)).toEqual([earlier.id]);
  });

  it('when the output is gone from the backend and the file at the earlier record\'s path is of another size (1 GiB, sparse), then it is not hashed (not intact by its size) and the fetch fault stands', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc006');
    await mkdir(path.dirname(path.join(libraryDir, target)), { recursive: true });
    await writeFile(path.join(libraryDir, target), '');
    await truncate(path.join(libraryDir, target), 1024 * 1024 * 1024);
    await recordedEarlier(id, sourceKey, target, bytes);
    const storage = new LocalLibraryStorage(libraryDir);
    const hashed: string[] = [];
    const sha256Of = storage.sha256.bind(storage);
    storage.sha256 = (relativePath) => (hashed.push(relativePath), sha256Of(relativePath));
    const gone = handlerWith(async () => {
      throw new Error('404 from /view');
    }, storage);
    await expect(gone.run((await loadGeneration(db, id))!, firstTry)).rejects.toThrow('404 from /view');
    // Before: the whole gigabyte was hashed to find it was not the image.
    expect(hashed).toEqual([]);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered' });
  });

  it('when the output is gone from the backend and nothing was filed before, then the fetch fault stands and nothing is recorded', async () => {
    const { id } = await rendered('sc005');
    const gone = handlerWith(async () => {
      throw new Error('404 from /view');
    });
    await expect(gone.run((await loadGeneration(db, id))!, firstTry)).rejects.toThrow('404 from /view');
    expect(await db.asset.count({ where: { jobId: id } })).toBe(0);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered' });
  });
});
