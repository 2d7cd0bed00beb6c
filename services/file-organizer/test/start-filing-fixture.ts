import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { fileOrganizerConfigSchema } from '@anime/config';
import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db, type Prisma } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle, type CreatedJob, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, startTcpProxy, TEST_POSTGRES, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TcpProxy, type TestDatabase } from '@anime/testing';
import { libraryPath } from '../src/domain/library-path';
import { startFileOrganizer, type FileOrganizerOptions } from '../src/start';
import { enqueueFiling, type EnqueueFilingOptions } from './enqueue-filing';

/** A line the file-organizer logged, as winston hands it on. */
export type LogLine = { level: string; message: string; [key: string]: unknown };

/** A generation's row with its Asset rows. */
export type GenerationWithAssets = Prisma.GenerationJobGetPayload<{ include: { assets: true } }>;

const CONDITIONING = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };

export interface FilingFixture {
  /** The test's own connection (never through `proxy`). */
  db: Db;
  /** The test database's URL, for a connection of the test's own settings (a gateway's, say). */
  databaseUrl: string;
  lifecycle: JobLifecycle;
  simulator: Simulator;
  service: RunningService;
  libraryDir: string;
  /** With `proxiedDatabase`: the TCP proxy between the service and PostgreSQL, to cut and restore. */
  proxy: TcpProxy | null;
  /** Every line the service logged, debug included, with `captureLog` (empty otherwise); a test splices it. */
  lines: LogLine[];
  /** A generation whose prompt really ran on the simulator, recorded as rendered (its filing job not yet queued), and its output's bytes. */
  rendered(project?: string): Promise<{ job: CreatedJob; outputBytes: Buffer }>;
  /** The generation's row with its Asset rows. */
  generation(id: string): Promise<GenerationWithAssets>;
  /** Waits up to `timeoutMs` for the generation to complete: its row with its Asset rows. */
  completed(id: string, timeoutMs: number): Promise<GenerationWithAssets>;
  /** Where output `index` of the generation is filed (a png): relative to the library, and its full path. */
  outputFile(id: string, index?: number): Promise<{ relative: string; file: string }>;
  /**
   * A rendered generation as a filing try killed after its writes leaves it: its filing claimed (under
   * `token`), its image and sidecar written at their library path, nothing recorded.
   */
  writtenByKilledTry(token?: string): Promise<{ job: CreatedJob; outputBytes: Buffer; relative: string; file: string }>;
  /**
   * Queues the generation's filing job, as the orchestrator hands it on (with the `triesBackoffMs`
   * schedule, if given); with `replaceFinished`, as the gateway's retry does (an earlier run's
   * finished job under the same id removed first).
   */
  enqueue(job: CreatedJob, options?: { replaceFinished?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export interface FilingFixtureOptions {
  /** Capture the service's lines at debug into `lines` (otherwise it logs errors only, to the console). */
  captureLog?: boolean;
  /** Put a TCP proxy between the service and PostgreSQL (`proxy`). */
  proxiedDatabase?: boolean;
  /** The service's own options: waitStepMs, databaseRetryDelayMs... */
  service?: FileOrganizerOptions;
  /** Its tries' backoff, shortened for the test (enqueueFiling's triesBackoffMs). */
  triesBackoffMs?: EnqueueFilingOptions['triesBackoffMs'];
  /** JOB_TIMEOUT_S, shortened for the test: how long a filing waits for a backend or a library that does not answer (600 s by default). */
  jobTimeoutS?: number;
}

/**
 * The file-organizer in-process over a database, queue prefix and library of its own, with a
 * simulator whose prompts make the outputs to file.
 */
export async function startFilingFixture(label: string, options: FilingFixtureOptions = {}): Promise<FilingFixture> {
  const database: TestDatabase = await createTestDatabase(label);
  const db = createDb(database.url, { max: 3 });
  const queuePrefix = uniqueQueuePrefix(label);
  const libraryDir = await mkdtemp(path.join(tmpdir(), `${label}-library-`));
  const outputDir = await mkdtemp(path.join(tmpdir(), `${label}-output-`));
  const simulator = await startSimulator({ stepMs: 1, port: 0, outputDir });
  const client = new ComfyClient({ baseUrl: simulator.url, log: createLogger('test', 'error') });
  const proxy = options.proxiedDatabase ? await startTcpProxy(TEST_POSTGRES) : null;
  const lines: LogLine[] = [];
  const log = createLogger('file-organizer', options.captureLog ? 'debug' : 'error');
  if (options.captureLog) {
    for (const transport of log.transports) transport.silent = true;
    log.on('data', (line: LogLine) => lines.push(line));
  }
  const config = fileOrganizerConfigSchema.parse({
    DATABASE_URL: proxy ? proxy.urlFor(database.url) : database.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: queuePrefix,
    LIBRARY_DIR: libraryDir,
    FILE_ORGANIZER_PORT: '0',
    ...(options.jobTimeoutS ? { JOB_TIMEOUT_S: String(options.jobTimeoutS) } : {}),
  });
  const service = await startFileOrganizer(config, log, options.service);
  const lifecycle = new JobLifecycle(db);
  let characters = 0;

  const generation = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id }, include: { assets: true } });

  async function outputFile(id: string, index = 0): Promise<{ relative: string; file: string }> {
    const row = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { character: true, characterVersion: true } });
    const relative = libraryPath({ project: row.project, episode: row.episode, scene: row.scene, shot: row.shot, characterSlug: row.character!.slug, version: row.characterVersion!.number, jobId: id, index, extension: 'png' });
    return { relative, file: path.join(libraryDir, relative) };
  }

  const fixture: FilingFixture = {
    db,
    databaseUrl: database.url,
    lifecycle,
    simulator,
    service,
    libraryDir,
    proxy,
    lines,
    rendered: async (project = 'demo') => {
      const slug = `kai-${Date.now()}-${++characters}`;
      const character = await db.character.create({ data: { slug, name: 'Kai', currentVersion: 1 } });
      const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
      const body = generationRequestBodySchema.parse({ character: slug, prompt: 'x', project, episode: 'ep01', scene: 'sc001' });
      const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: version.id, conditioning: CONDITIONING } });
      const workflow = textToImage({ steps: 1, width: 64, height: 64, seed: Math.floor(Math.random() * 1e9) });
      const result = await client.run(workflow);
      await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
      await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
      const output = result.outputs[0];
      const outputBytes = await readFile(path.join(outputDir, output.subfolder, output.filename));
      return { job, outputBytes };
    },
    generation,
    completed: (id, timeoutMs) =>
      waitFor(async () => {
        const row = await generation(id);
        return row.status === 'completed' ? row : null;
      }, `generation ${id} to complete`, timeoutMs),
    outputFile,
    writtenByKilledTry: async (token = randomUUID()) => {
      const { job, outputBytes } = await fixture.rendered();
      if (!(await lifecycle.claimFiling(job.id, token))) throw new Error(`could not claim the filing of ${job.id}`);
      const { relative, file } = await outputFile(job.id);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, outputBytes);
      await writeFile(`${file}.json`, '{}');
      return { job, outputBytes, relative, file };
    },
    enqueue: (job, { replaceFinished = false } = {}) => enqueueFiling(service.ctx.queues, job, { triesBackoffMs: options.triesBackoffMs, replaceFinished }),
    close: async () => {
      await proxy?.accept();
      await service.stop();
      await proxy?.close();
      client.close();
      await simulator.close();
      await db.$disconnect();
      await database.drop();
      await removeQueueKeys(queuePrefix);
      await rm(libraryDir, { recursive: true, force: true });
      await rm(outputDir, { recursive: true, force: true });
    },
  };
  return fixture;
}
