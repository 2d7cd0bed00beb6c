import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { generationRequestBodySchema, type ComfyOutputRef } from '@anime/contracts';
import { createDb, poolOf, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { LocalLibraryStorage } from '@anime/media';
import { createRedis, JobEventPublisher, JobLifecycle } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix } from '@anime/testing';
import { createFileOutputsHandler, type FileOutputsDeps } from '../src/jobs/file-outputs.processor';

const log = createLogger('file-organizer', 'error');
const CONDITIONING = { positive: 'kainakamura', negative: 'lowres', loras: [], references: [], outfit: null };

/** A generation whose prompt ran on the simulator, recorded as rendered. */
export interface RenderedGeneration {
  id: string;
  /** The prompt's outputs, as the generation records them. */
  outputs: ComfyOutputRef[];
}

export interface FilingHandlerFixture {
  /** The test's connection, and the handler's unless another is given. */
  db: Db;
  /** The test database's URL, for another pool over it (a second instance's). */
  databaseUrl: string;
  lifecycle: JobLifecycle;
  libraryDir: string;
  simulator: Simulator;
  /** The one character (version 1) every generation is of. */
  character: { id: string; slug: string };
  versionId: string;
  /** The bytes of an output as the simulator holds them (what the handler fetches, unless told otherwise). */
  fromSimulator(output: ComfyOutputRef): Promise<Buffer>;
  /** A generation in `project`/ep01/`scene` whose prompt (`batch` images) ran on the simulator, recorded as rendered. */
  rendered(project: string, scene: string, batch?: number): Promise<RenderedGeneration>;
  /**
   * A filing handler, as an instance of the file-organizer runs it: over `db`, the library's
   * storage and the simulator's outputs, unless others are given.
   */
  handler(deps?: Partial<Pick<FileOutputsDeps, 'db' | 'storage' | 'fetchOutput'>>): ReturnType<typeof createFileOutputsHandler>;
  close(): Promise<void>;
}

/**
 * The file-organizer's filing handler in-process (no service, no queue worker), over a database,
 * queue prefix and library of its own, with a simulator whose prompts make the outputs to file.
 */
export async function startFilingHandlerFixture(label: string, characterSlug: string): Promise<FilingHandlerFixture> {
  const database = await createTestDatabase(label);
  const db = createDb(database.url, { max: 3 });
  const redis = createRedis(TEST_REDIS_URL);
  const queuePrefix = uniqueQueuePrefix(label);
  const lifecycle = new JobLifecycle(db);
  const libraryDir = await mkdtemp(path.join(tmpdir(), `${label}-library-`));
  const simulator = await startSimulator({ stepMs: 1 });
  const client = new ComfyClient({ baseUrl: simulator.url, log });
  const character = await db.character.create({ data: { slug: characterSlug, name: 'Kai', currentVersion: 1 } });
  const versionId = (await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } })).id;
  const fromSimulator = (output: ComfyOutputRef) => readFile(path.join(simulator.outputDir, output.subfolder, output.filename));

  return {
    db,
    databaseUrl: database.url,
    lifecycle,
    libraryDir,
    simulator,
    character,
    versionId,
    fromSimulator,
    rendered: async (project, scene, batch = 1) => {
      const body = generationRequestBodySchema.parse({ character: character.slug, prompt: 'x', project, episode: 'ep01', scene });
      const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId: character.id, characterVersionId: versionId, conditioning: CONDITIONING } });
      const workflow = textToImage({ steps: 1, width: 64, height: 64, batch, seed: Math.floor(Math.random() * 1e9) });
      const result = await client.run(workflow);
      expect(result.outputs).toHaveLength(batch);
      await lifecycle.submit(job.id, { backend: simulator.url, promptId: result.promptId, workflow });
      await lifecycle.render(job.id, { backend: simulator.url, promptId: result.promptId, items: result.outputs });
      return { id: job.id, outputs: result.outputs };
    },
    handler: ({ db: handlerDb, storage, fetchOutput } = {}) =>
      createFileOutputsHandler({
        db: handlerDb ?? db,
        events: new JobEventPublisher(redis, queuePrefix),
        storage: storage ?? new LocalLibraryStorage(libraryDir),
        log,
        fetchOutput: fetchOutput ?? ((_backend, output) => fromSimulator(output)),
      }),
    close: async () => {
      client.close();
      await simulator.close();
      redis.disconnect();
      await db.$disconnect();
      // $disconnect ends the pool only when Prisma itself connected; the handler's statements all ran on the pool.
      if (!poolOf(db).ended) await poolOf(db).end();
      await database.drop();
      await rm(libraryDir, { recursive: true, force: true });
      await removeQueueKeys(queuePrefix);
    },
  };
}
