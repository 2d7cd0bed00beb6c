import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { fileOrganizerConfigSchema } from '@anime/config';
import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, startTcpProxy, TEST_POSTGRES, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TcpProxy, type TestDatabase } from '@anime/testing';
import { startFileOrganizer } from '../src/start';

type Line = { level: string; message: string; [key: string]: unknown };

const conditioning = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FILINGS = 12;

/**
 * Filings queued while PostgreSQL is away: each stage job is put back every 5 s, no try spent, and
 * each put-back used to log its end at info, a line per job per look. Now one warn line a minute per
 * worker says they wait, and each put-back is at debug.
 */
describe('the log lines of filings waiting for PostgreSQL (file-organizer in-process through a TCP proxy, simulator, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let outputDir: string;
  let libraryDir: string;
  let service: RunningService;
  let lifecycle: JobLifecycle;
  let proxy: TcpProxy;
  const lines: Line[] = [];
  const queuePrefix = uniqueQueuePrefix('filing-database-down-log');

  beforeAll(async () => {
    database = await createTestDatabase('filing-database-down-log');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    proxy = await startTcpProxy(TEST_POSTGRES);
    libraryDir = await mkdtemp(path.join(tmpdir(), 'filing-database-down-log-library-'));
    outputDir = await mkdtemp(path.join(tmpdir(), 'filing-database-down-log-output-'));
    simulator = await startSimulator({ stepMs: 1, port: 0, outputDir });
    const log = createLogger('file-organizer', 'debug');
    for (const transport of log.transports) transport.silent = true;
    log.on('data', (line: Line) => lines.push(line));
    const config = fileOrganizerConfigSchema.parse({ DATABASE_URL: proxy.urlFor(database.url), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, LIBRARY_DIR: libraryDir, FILE_ORGANIZER_PORT: '0' });
    service = await startFileOrganizer(config, log);
  });

  afterAll(async () => {
    await proxy?.accept();
    await service?.stop();
    await proxy?.close();
    await simulator?.close();
    await db?.$disconnect();
    await database?.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
    await rm(outputDir, { recursive: true, force: true });
  });

  /** A generation whose prompt really ran on the simulator, recorded as rendered (not through the proxy). */
  async function rendered(client: ComfyClient) {
    const character = await db.character.create({ data: { slug: `kai-${Date.now()}-${Math.floor(Math.random() * 1e6)}`, name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project: 'db', episode: 'ep01', scene: 'sc001' });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning } });
    const workflow = textToImage({ steps: 1, width: 64, height: 64, seed: Math.floor(Math.random() * 1e9) });
    const result = await client.run(workflow);
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
    await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
    return job;
  }

  it(`when ${FILINGS} filings wait 25 s for PostgreSQL, then one warn line says so, each put-back is at debug, and all are filed once it is back`, async () => {
    const client = new ComfyClient({ baseUrl: simulator.url, log: createLogger('test', 'error') });
    const jobs = [];
    try {
      for (let i = 0; i < FILINGS; i++) jobs.push(await rendered(client));
    } finally {
      client.close();
    }
    await proxy.refuse();
    lines.splice(0);
    for (const job of jobs) await service.ctx.queues.enqueueStage({ ...job, stage: 'rendered' });
    await sleep(25_000);
    const during = lines.splice(0);
    await proxy.accept();
    const ids = jobs.map((job) => job.id);
    await waitFor(async () => {
      const rows = await db.generationJob.findMany({ where: { id: { in: ids } } });
      return rows.every((g) => g.status === 'completed') || null;
    }, 'every filing once PostgreSQL is back', 60_000);

    const loud = during.filter((line) => line.level !== 'debug');
    // Before: none; each put-back (every 5 s per job) logged "stage job ended without completing" at info, some 60 lines.
    expect(loud.filter((line) => line.message === 'PostgreSQL unavailable: stage jobs wait for it, no try spent')).toHaveLength(1);
    expect(loud.filter((line) => line.message === 'stage job ended without completing')).toEqual([]);
    expect(loud.length).toBeLessThanOrEqual(3);
    const putBacks = during.filter((line) => line.level === 'debug' && line.message === 'stage job ended without completing' && line.outcome === 'deferred');
    expect(putBacks.length).toBeGreaterThanOrEqual(FILINGS);
  }, 120_000);
});
