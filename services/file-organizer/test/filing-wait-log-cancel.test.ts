import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { fileOrganizerConfigSchema } from '@anime/config';
import { generationRequestBodySchema, PIPELINE_CATALOG } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { startFileOrganizer } from '../src/start';

type Line = { level: string; message: string; [key: string]: unknown };

const conditioning = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };

/**
 * A filing canceled while it waits ends when its job comes back and finds the generation over
 * (settle), not in the wait's own look: the wait log must forget it there too. Remembered, its
 * retry's first wait (the same generation id) was logged at debug, hidden from the operator, and
 * it kept counting in the "N filings wait" summary (and in memory) after it waited no more.
 */
describe('the wait log of a filing canceled while it waits (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let outputDir: string;
  let libraryDir: string;
  let service: RunningService;
  let lifecycle: JobLifecycle;
  const lines: Line[] = [];
  const queuePrefix = uniqueQueuePrefix('filing-wait-log-cancel');

  beforeAll(async () => {
    database = await createTestDatabase('filing-wait-log-cancel');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    libraryDir = await mkdtemp(path.join(tmpdir(), 'filing-wait-log-cancel-library-'));
    outputDir = await mkdtemp(path.join(tmpdir(), 'filing-wait-log-cancel-output-'));
    simulator = await startSimulator({ stepMs: 1, port: 0, outputDir });
    const log = createLogger('file-organizer', 'debug');
    for (const transport of log.transports) transport.silent = true;
    log.on('data', (line: Line) => lines.push(line));
    const config = fileOrganizerConfigSchema.parse({ DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, FILE_ORGANIZER_PORT: '0' });
    service = await startFileOrganizer(config, log);
  });

  afterAll(async () => {
    await service?.stop();
    await simulator?.close();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
    await rm(outputDir, { recursive: true, force: true });
  });

  const waits = (id: string) => lines.filter((line) => line.generationId === id && /: the filing waits, its tries untouched$/.test(line.message));

  it('when a waiting filing is canceled, its job settles, and it is retried, then its retry\'s first wait is logged at info again', async () => {
    const blocking = path.join(libraryDir, 'blocked');
    await writeFile(blocking, 'not a folder');
    const client = new ComfyClient({ baseUrl: simulator.url, log: createLogger('test', 'error') });
    const character = await db.character.create({ data: { slug: `kai-${Date.now()}`, name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project: 'blocked', episode: 'ep01', scene: 'sc001' });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
    const workflow = textToImage({ steps: 1, width: 64, height: 64, seed: 7 });
    try {
      const result = await client.run(workflow);
      await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
      await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
    } finally {
      client.close();
    }
    await service.ctx.queues.enqueueStage({ ...job, stage: 'rendered' });
    await waitFor(async () => waits(job.id).find((line) => line.level === 'info') ?? null, 'its first wait', 20_000);

    expect(await lifecycle.cancelAtOnce(job.id)).not.toBeNull();
    const queue = new Queue(PIPELINE_CATALOG.assetFiling.name, { connection: { url: TEST_REDIS_URL }, prefix: queuePrefix });
    try {
      // Its job comes back at its next look (within 15 s), finds the generation canceled and ends.
      await waitFor(async () => Object.values(await queue.getJobCounts('delayed', 'waiting', 'prioritized', 'active')).every((n) => n === 0) || null, 'the canceled filing job ends', 30_000);
    } finally {
      await queue.close();
    }

    lines.splice(0);
    expect(await lifecycle.retry(job.id, { reason: 'test' })).not.toBeNull();
    await service.ctx.queues.enqueueStage({ ...job, stage: 'rendered' });
    await waitFor(async () => waits(job.id)[0] ?? null, 'its retry waits', 20_000);
    // Before: at debug, its wait before the cancel still remembered.
    expect(waits(job.id)[0]).toMatchObject({ level: 'info' });

    await rm(blocking);
    await waitFor(async () => (await db.generationJob.findUnique({ where: { id: job.id } }))?.status === 'completed' || null, 'filed once the folder can be made', 30_000);
  }, 120_000);
});
