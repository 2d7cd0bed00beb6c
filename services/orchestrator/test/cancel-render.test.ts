import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { orchestratorConfigSchema } from '@anime/config';
import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { startOrchestrator } from '../src/start';

const conditioning = { positive: 'kainakamura, 1boy', negative: 'lowres', loras: [], references: [], outfit: null };

describe('cancel in the orchestrator: a lost control message still cancels (in-process, simulator)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let service: RunningService;
  let libraryDir: string;
  let lifecycle: JobLifecycle;
  let versionId: string;
  let characterId: string;
  const queuePrefix = uniqueQueuePrefix('cancel-render');

  beforeAll(async () => {
    database = await createTestDatabase('cancel-render');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    libraryDir = await mkdtemp(path.join(tmpdir(), 'cancel-render-library-'));
    simulator = await startSimulator({ stepMs: 50 });
    const character = await db.character.create({ data: { slug: 'kai-nakamura', name: 'Kai Nakamura', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai Nakamura' } } });
    characterId = character.id;
    versionId = version.id;
    const config = orchestratorConfigSchema.parse({
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: queuePrefix,
      COMFYUI_URLS: simulator.url,
      LIBRARY_DIR: libraryDir,
      ORCHESTRATOR_PORT: '0',
      JOB_MAX_ATTEMPTS: '1',
    });
    service = await startOrchestrator(config, createLogger('orchestrator', 'error'));
  });

  afterAll(async () => {
    await service.stop();
    await simulator.close();
    await db.$disconnect();
    await database.drop();
    await removeQueueKeys(queuePrefix);
    await rm(libraryDir, { recursive: true, force: true });
  });

  async function resolvedGeneration(): Promise<string> {
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'on a rooftop', steps: 100, width: 64, height: 64 });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId, characterVersionId: versionId, conditioning } });
    await service.ctx.queues.enqueueStage(job);
    return job.id;
  }

  const generation = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: 'asc' } } } });
  it('when cancelRequestedAt is set with no message sent, then the render is interrupted once and the generation canceled', async () => {
    const id = await resolvedGeneration();
    const running = await waitFor(async () => {
      const g = await generation(id);
      return g.progressValue ? g : null;
    }, 'the prompt to run');
    await db.generationJob.update({ where: { id }, data: { cancelRequestedAt: new Date() } });
    const canceled = await waitFor(async () => {
      const g = await generation(id);
      return g.status === 'canceled' ? g : null;
    }, 'the generation to be canceled', 10_000);
    expect(canceled).toMatchObject({ stage: 'submitted', errorCode: 'canceled', outputs: null });
    expect(canceled.attempts[0].finishedAt).not.toBeNull();
    expect(simulator.controls.filter((c) => c.body.prompt_id === running.promptId || (c.body.delete as string[] | undefined)?.includes(running.promptId!))).toEqual([
      { path: '/interrupt', body: { prompt_id: running.promptId }, at: expect.any(String) },
    ]);
  });

  it('when a job picked after a restart already has a cancel request, then it is canceled without following its prompt', async () => {
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'asked to stop while nobody drove it', steps: 2 });
    const { job } = await lifecycle.create({ body, source: 'test', resolution: { characterId, characterVersionId: versionId, conditioning } });
    const workflow = { '1': { class_type: 'SaveImage', inputs: {} } };
    await lifecycle.submit(job.id, { backend: simulator.url, promptId: 'never-sent', workflow });
    await db.generationJob.update({ where: { id: job.id }, data: { cancelRequestedAt: new Date() } });
    const id = job.id;
    const before = simulator.received.length;
    await service.ctx.queues.enqueueStage({ ...job, stage: 'submitted' });
    const canceled = await waitFor(async () => {
      const g = await generation(id);
      return g.status === 'canceled' ? g : null;
    }, 'the generation to be canceled', 10_000);
    expect(canceled.errorCode).toBe('canceled');
    expect(simulator.received.length).toBe(before);
  });
});
