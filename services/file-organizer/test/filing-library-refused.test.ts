import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, withFileSizeLimit, type TestDatabase } from '@anime/testing';
import { startFileOrganizer } from '../src/start';

const log = createLogger('file-organizer', 'error');
const conditioning = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The library refuses writes while outputs are being filed: a full disk, a quota, a read-only
 * remount. Here the kernel refuses them (EFBIG) through this process's file-size limit, lowered
 * below an image's size and lifted again, which needs neither a mount nor privileges. Filing's five
 * tries with their backoff last about 15 s; an operator freeing the disk takes longer.
 */
describe('filing while the library refuses writes (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let outputDir: string;
  let libraryDir: string;
  let service: RunningService;
  let lifecycle: JobLifecycle;
  const queuePrefix = uniqueQueuePrefix('filing-library-refused');

  beforeAll(async () => {
    database = await createTestDatabase('filing-library-refused');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    libraryDir = await mkdtemp(path.join(tmpdir(), 'filing-library-refused-library-'));
    outputDir = await mkdtemp(path.join(tmpdir(), 'filing-library-refused-output-'));
    simulator = await startSimulator({ stepMs: 1, port: 0, outputDir });
    const config = fileOrganizerConfigSchema.parse({ DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, FILE_ORGANIZER_PORT: '0' });
    service = await startFileOrganizer(config, log);
  });

  afterAll(async () => {
    await service.stop();
    await simulator.close();
    await db.$disconnect();
    await database.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
    await rm(outputDir, { recursive: true, force: true });
  });

  /** A generation whose prompt really ran on the simulator, recorded as rendered; its filing job is queued. */
  async function rendered(project = 'full'): Promise<{ id: string; outputBytes: Buffer }> {
    const character = await db.character.create({ data: { slug: `kai-${Date.now()}`, name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project, episode: 'ep01', scene: 'sc001' });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
    const workflow = textToImage({ steps: 1, width: 64, height: 64, seed: Math.floor(Math.random() * 1e9) });
    const client = new ComfyClient({ baseUrl: simulator.url, log });
    const result = await client.run(workflow).finally(() => client.close());
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
    await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
    const output = result.outputs[0];
    const outputBytes = await readFile(path.join(outputDir, output.subfolder, output.filename));
    await service.ctx.queues.enqueueStage({ ...job, stage: 'rendered' });
    return { id: job.id, outputBytes };
  }

  const filingJob = (id: string) => Job.fromId(service.ctx.queues.byKey.assetFiling, `filing-${id}`);
  const generation = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id }, include: { assets: true } });
  const filesOfJob = async (jobId: string) => (await readdir(libraryDir, { recursive: true })).filter((name) => name.includes(jobId)).sort();

  it('when the library refuses writes longer than the tries last, then the filing waits (no try spent, no temp file left) and files once, by itself, when writes are taken again', async () => {
    const { id, outputBytes } = await rendered();
    // An image of 64×64 and its sidecar are each over 1 KiB: every filing write is refused half-way.
    await withFileSizeLimit(1024, async () => {
      // 20 s: past the ~15 s in which five tries were spent and the generation failed.
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        expect(await generation(id)).toMatchObject({ status: 'running', stage: 'rendered', errorCode: null });
        await sleep(500);
      }
      expect((await filingJob(id))!.attemptsMade).toBe(0);
      expect(await filesOfJob(id)).toEqual([]);
    });

    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.status !== 'running' ? g : null;
    }, 'the filing once the library takes writes again', 30_000);
    expect(row).toMatchObject({ status: 'completed', stage: 'filed', errorCode: null });
    expect(row.assets.map((a) => a.sha256)).toEqual([sha256(outputBytes)]);
    const [asset] = row.assets;
    expect(await filesOfJob(id)).toEqual([asset.path, `${asset.path}.json`].map((p) => path.normalize(p)).sort());
    expect(sha256(await readFile(path.join(libraryDir, asset.path)))).toBe(asset.sha256);
  }, 90_000);

  // Its folders cannot be made: on a read-only volume that is EROFS, which Node's recursive mkdir
  // reported as ENOENT (a fault: the tries were spent); a blocked path needs no mount to build.
  it('when a file stands where the filing\'s project folder goes, then the filing waits (no try spent) and files once it is moved', async () => {
    const blocking = path.join(libraryDir, 'blocked');
    await writeFile(blocking, 'not a folder');
    const { id } = await rendered('blocked');
    // 20 s: past the ~15 s in which five tries were spent and the generation failed.
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      expect(await generation(id)).toMatchObject({ status: 'running', stage: 'rendered', errorCode: null });
      await sleep(500);
    }
    expect((await filingJob(id))!.attemptsMade).toBe(0);

    await rm(blocking);
    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.status !== 'running' ? g : null;
    }, 'the filing once the folder can be made', 30_000);
    expect(row).toMatchObject({ status: 'completed', stage: 'filed', errorCode: null });
  }, 90_000);
});
