import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { databaseStatements, poolOf } from '@anime/db';
import { createLogger } from '@anime/logger';
import { LibraryNotAnsweringError, libraryReadTimeoutMs, LocalLibraryStorage } from '@anime/media';
import { loadAssetResources, loadGeneration } from '@anime/pipeline';
import { libraryPath } from '../src/domain/library-path';
import type { FileOutputsDeps } from '../src/jobs/file-outputs.processor';
import { startFilingHandlerFixture, type FilingHandlerFixture } from './filing-handler-fixture';

const log = createLogger('file-organizer', 'error');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const firstTry = { job: { attemptsMade: 0, stalledCounter: 0 } as Job, log };

describe('filing records (handler in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingHandlerFixture;

  beforeAll(async () => {
    fx = await startFilingHandlerFixture('filing-records', 'kai-records');
  });

  afterAll(() => fx?.close());

  const handlerWith = (fetchOutput?: FileOutputsDeps['fetchOutput'], storage?: LocalLibraryStorage) => fx.handler({ fetchOutput, storage });

  /** A generation whose prompt ran on the simulator, recorded as rendered; its output's bytes and library path. */
  async function rendered(scene: string): Promise<{ id: string; bytes: Buffer; target: string; sourceKey: string }> {
    const { id, outputs: [output] } = await fx.rendered('records', scene);
    const bytes = await fx.fromSimulator(output);
    const target = libraryPath({ project: 'records', episode: 'ep01', scene, shot: null, characterSlug: fx.character.slug, version: 1, jobId: id, index: 0, extension: 'png' });
    return { id, bytes, target, sourceKey: `${output.nodeId}/${output.type}/${output.subfolder}/${output.filename}` };
  }

  /** What a filing that recorded its output on its own, then crashed before completing the job, left. */
  const recordedEarlier = (id: string, sourceKey: string, at: string, bytes: Buffer) =>
    fx.db.asset.create({
      data: {
        jobId: id, characterVersionId: fx.versionId, sourceKey, path: at, sha256: sha256(bytes), bytes: bytes.length, width: 64, height: 64, mime: 'image/png',
        project: 'records', episode: 'ep01', scene: 'earlier', metadata: { outfit: null, references: [] },
      },
    });

  const folderOf = async (target: string) => (await readdir(path.join(fx.libraryDir, path.dirname(target)))).sort();

  it('when a rendered generation is filed, then its Asset and its completion are one statement after the claim of the filing, and the job:completed event names the Assets as they are stored', async () => {
    const { id, bytes, target } = await rendered('sc001');
    const generation = (await loadGeneration(fx.db, id))!;
    const before = databaseStatements();
    const query = jest.spyOn(poolOf(fx.db), 'query');
    try {
      expect((await handlerWith().run(generation, firstTry)).reached).toBe('filed');
      // The try claims the filing before it writes (another try may be writing the same paths), then records.
      expect(query.mock.calls.map(([statement]) => (statement as unknown as { name: string }).name)).toEqual(['lifecycle-claim-filing', 'lifecycle-file-with-assets']);
    } finally {
      query.mockRestore();
    }
    expect(databaseStatements() - before).toBe(2);
    const assets = await fx.db.asset.findMany({ where: { jobId: id } });
    expect(assets).toMatchObject([{ path: target, sha256: sha256(bytes), bytes: bytes.length, width: 64, height: 64, mime: 'image/png', status: 'active' }]);
    const event = await fx.db.jobEvent.findFirstOrThrow({ where: { jobId: id, type: 'job:completed' } });
    expect((event.payload as { assets: unknown }).assets).toEqual(JSON.parse(JSON.stringify(await loadAssetResources(fx.db, id))));
    expect(await fx.db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', stage: 'filed' });
  });

  it('when an earlier filing recorded the output and crashed before completing, then filing again keeps its record, one file and its sidecar', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc002');
    const earlier = await recordedEarlier(id, sourceKey, target, bytes);
    expect((await handlerWith().run((await loadGeneration(fx.db, id))!, firstTry)).reached).toBe('filed');
    expect(await fx.db.asset.findMany({ where: { jobId: id } })).toMatchObject([{ id: earlier.id, path: target, sha256: sha256(bytes) }]);
    expect(await folderOf(target)).toEqual([path.basename(target), `${path.basename(target)}.json`]);
    expect(sha256(await readFile(path.join(fx.libraryDir, target)))).toBe(sha256(bytes));
    expect(await fx.db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', stage: 'filed' });
  });

  it('when an earlier record names another path, then the image and its sidecar land there and nothing stays at the path this try wrote', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc003');
    const elsewhere = `records/ep01/sc003/elsewhere/${path.basename(target)}`;
    await recordedEarlier(id, sourceKey, elsewhere, Buffer.from('what a cut write left'));
    expect((await handlerWith().run((await loadGeneration(fx.db, id))!, firstTry)).reached).toBe('filed');
    expect(await fx.db.asset.findMany({ where: { jobId: id } })).toMatchObject([{ path: elsewhere, sha256: sha256(bytes) }]);
    expect(sha256(await readFile(path.join(fx.libraryDir, elsewhere)))).toBe(sha256(bytes));
    expect(JSON.parse(await readFile(path.join(fx.libraryDir, `${elsewhere}.json`), 'utf8'))).toMatchObject({ jobId: id, file: path.basename(elsewhere), sha256: sha256(bytes) });
    expect(await folderOf(target)).toEqual([]);
  });

  it('when an earlier record names another path and the library stops answering the read of what this try wrote, then the try fails within the read bound (the library not answering), not hanging on with its slot', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc007');
    await recordedEarlier(id, sourceKey, `records/ep01/sc007/elsewhere/${path.basename(target)}`, Buffer.from('what a cut write left'));
    // A hung mount's read: an open of a FIFO no writer has opened blocks in a libuv thread, as a read of a hung NFS mount blocks in the kernel.
    const fifo = path.join(fx.libraryDir, 'hung-read.fifo');
    execFileSync('mkfifo', [fifo]);
    const storage = new LocalLibraryStorage(fx.libraryDir);
    storage.read = () => readFile(fifo);
    const started = Date.now();
    let limit: NodeJS.Timeout | undefined;
    try {
      // Before: the read was not bounded, and the try (its job active, its worker slot held) waited for as long as the mount hung.
      const outcome = await Promise.race([
        handlerWith(undefined, storage).run((await loadGeneration(fx.db, id))!, firstTry).then(() => 'filed', (error: unknown) => error),
        new Promise((resolve) => (limit = setTimeout(() => resolve('still waiting'), libraryReadTimeoutMs(bytes.length) + 10_000))),
      ]);
      expect(outcome).toBeInstanceOf(LibraryNotAnsweringError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(libraryReadTimeoutMs(bytes.length) - 50);
      expect(await fx.db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered' });
    } finally {
      clearTimeout(limit);
      // The mount answering: the read left behind ends (EOF), freeing its libuv thread.
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      await rm(fifo, { force: true });
    }
  }, 30_000);

  it('when the output is gone from the backend but an earlier filing recorded it intact, then the job completes with that record', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc004');
    await new LocalLibraryStorage(fx.libraryDir).writeAll([{ path: target, bytes }]);
    const earlier = await recordedEarlier(id, sourceKey, target, bytes);
    const gone = handlerWith(async () => {
      throw new Error('404 from /view');
    });
    expect((await gone.run((await loadGeneration(fx.db, id))!, firstTry)).reached).toBe('filed');
    const event = await fx.db.jobEvent.findFirstOrThrow({ where: { jobId: id, type: 'job:completed' } });
    expect((event.payload as { assets: { id: string }[] }).assets.map((a) => a.id)).toEqual([earlier.id]);
  });

  it('when the output is gone from the backend and the file at the earlier record\'s path is of another size (1 GiB, sparse), then it is not hashed (not intact by its size) and the fetch fault stands', async () => {
    const { id, bytes, target, sourceKey } = await rendered('sc006');
    await mkdir(path.dirname(path.join(fx.libraryDir, target)), { recursive: true });
    await writeFile(path.join(fx.libraryDir, target), '');
    await truncate(path.join(fx.libraryDir, target), 1024 * 1024 * 1024);
    await recordedEarlier(id, sourceKey, target, bytes);
    const storage = new LocalLibraryStorage(fx.libraryDir);
    const hashed: string[] = [];
    const sha256Of = storage.sha256.bind(storage);
    storage.sha256 = (relativePath) => (hashed.push(relativePath), sha256Of(relativePath));
    const gone = handlerWith(async () => {
      throw new Error('404 from /view');
    }, storage);
    await expect(gone.run((await loadGeneration(fx.db, id))!, firstTry)).rejects.toThrow('404 from /view');
    // Before: the whole gigabyte was hashed to find it was not the image.
    expect(hashed).toEqual([]);
    expect(await fx.db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered' });
  });

  it('when the output is gone from the backend and nothing was filed before, then the fetch fault stands and nothing is recorded', async () => {
    const { id } = await rendered('sc005');
    const gone = handlerWith(async () => {
      throw new Error('404 from /view');
    });
    await expect(gone.run((await loadGeneration(fx.db, id))!, firstTry)).rejects.toThrow('404 from /view');
    expect(await fx.db.asset.count({ where: { jobId: id } })).toBe(0);
    expect(await fx.db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered' });
  });
});
