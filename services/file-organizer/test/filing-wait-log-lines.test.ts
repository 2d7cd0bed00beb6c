import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { fileOrganizerConfigSchema } from '@anime/config';
import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { startFileOrganizer } from '../src/start';

type Line = { level: string; message: string; [key: string]: unknown };

const conditioning = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FILINGS = 12;

/**
 * A backlog of filings waiting out a library that refuses writes: each look used to log two info
 * lines per filing (its wait, then its stage job's end), some 1,400 lines for 77 filings in 40 s of
 * a chaos run. Now a filing's first wait is one info line, later looks are at debug, and this
 * process says how many wait at most once a minute.
 */
describe('the log lines of filings waiting for the library (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let outputDir: string;
  let libraryDir: string;
  let service: RunningService;
  let lifecycle: JobLifecycle;
  const lines: Line[] = [];
  const queuePrefix = uniqueQueuePrefix('filing-wait-log-lines');

  beforeAll(async () => {
    database = await createTestDatabase('filing-wait-log-lines');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    libraryDir = await mkdtemp(path.join(tmpdir(), 'filing-wait-log-lines-library-'));
    outputDir = await mkdtemp(path.join(tmpdir(), 'filing-wait-log-lines-output-'));
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

  /** A generation whose prompt really ran on the simulator, recorded as rendered; its filing job is queued. */
  async function rendered(project: string, client: ComfyClient): Promise<string> {
    const character = await db.character.create({ data: { slug: `kai-${Date.now()}-${Math.floor(Math.random() * 1e6)}`, name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project, episode: 'ep01', scene: 'sc001' });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
    const workflow = textToImage({ steps: 1, width: 64, height: 64, seed: Math.floor(Math.random() * 1e9) });
    const result = await client.run(workflow);
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
    await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
    await service.ctx.queues.enqueueStage({ ...job, stage: 'rendered' });
    return job.id;
  }

  it(`when ${FILINGS} filings wait 25 s for a library that refuses writes, then each says so once at info, its later looks are at debug, and all are filed once it takes writes`, async () => {
    // A file where the project's folder goes: every filing's write is refused (ENOTDIR), as on a volume gone read-only.
    const blocking = path.join(libraryDir, 'blocked');
    await writeFile(blocking, 'not a folder');
    const client = new ComfyClient({ baseUrl: simulator.url, log: createLogger('test', 'error') });
    const ids: string[] = [];
    lines.splice(0);
    try {
      for (let i = 0; i < FILINGS; i++) ids.push(await rendered('blocked', client));
    } finally {
      client.close();
    }
    await sleep(25_000);
    const during = lines.splice(0);
    await rm(blocking);
    await waitFor(async () => {
      const rows = await db.generationJob.findMany({ where: { id: { in: ids } } });
      return rows.every((g) => g.status === 'completed') || null;
    }, 'every filing once the folder can be made', 40_000);

    const loud = during.filter((line) => line.level !== 'debug');
    const waits = loud.filter((line) => /^the library refuses writes \(ENOTDIR: .+\): the filing waits, its tries untouched$/.test(line.message));
    // One per filing: its first wait, naming it.
    expect(waits.map((line) => line.generationId).sort()).toEqual([...ids].sort());
    // Before: each look (1 s, 2 s, 4 s, 8 s, 15 s…) logged its wait and its stage job's end, some 10 lines per filing.
    expect(loud.length).toBeLessThanOrEqual(FILINGS + 2);
    // The later looks are still there for whoever turns LOG_LEVEL to debug.
    const looks = during.filter((line) => line.level === 'debug' && /: the filing waits, its tries untouched$/.test(line.message));
    expect(looks.length).toBeGreaterThanOrEqual(FILINGS);
  }, 120_000);
});
