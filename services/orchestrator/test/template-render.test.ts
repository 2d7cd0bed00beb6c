import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { orchestratorConfigSchema } from '@anime/config';
import { generationRequestBodySchema, type JobConditioning } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle, type RunningService } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import { registerWorkflow } from '@anime/workflows';
import { startOrchestrator } from '../src/start';

const graph = (scheduler: string) => ({
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'anime-v1.safetensors' } },
  '2': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['1', 1] } },
  '4': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
  '5': { class_type: 'KSampler', inputs: { model: ['1', 0], seed: 1, steps: 2, cfg: 7, sampler_name: 'euler', scheduler, positive: ['2', 0], negative: ['2', 0], latent_image: ['4', 0], denoise: 1 } },
  '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
  '7': { class_type: 'SaveImage', inputs: { images: ['6', 0], filename_prefix: 'studio' } },
});
const params = {
  prompt: { type: 'string' as const, node: '2', input: 'text' },
  seed: { type: 'int' as const, node: '5', input: 'seed' },
  cfg: { type: 'float' as const, node: '5', input: 'cfg', default: 6 },
};

describe('render stage with a registered template (orchestrator in-process, simulator, PostgreSQL, Redis)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let service: RunningService;
  let libraryDir: string;
  let resolution: { characterId: string; characterVersionId: string };
  const queuePrefix = uniqueQueuePrefix('template-render');

  beforeAll(async () => {
    database = await createTestDatabase('template-render');
    db = createDb(database.url, { max: 3 });
    libraryDir = await mkdtemp(path.join(tmpdir(), 'template-render-library-'));
    simulator = await startSimulator({ stepMs: 5 });
    const character = await db.character.create({ data: { slug: 'kai-nakamura', name: 'Kai Nakamura', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai Nakamura' } } });
    resolution = { characterId: character.id, characterVersionId: version.id };
    const config = orchestratorConfigSchema.parse({
      DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, COMFYUI_URLS: simulator.url,
      LIBRARY_DIR: libraryDir, ORCHESTRATOR_PORT: '0', JOB_MAX_ATTEMPTS: '1',
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

  async function render(workflow: JobConditioning['workflow']) {
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'on a rooftop', seed: 77 });
    const conditioning: JobConditioning = { positive: 'kainakamura, on a rooftop', negative: '', loras: [], references: [], outfit: null, workflow };
    const { job } = await new JobLifecycle(db).create({ body, source: 'test', resolution: { ...resolution, conditioning } });
    await service.ctx.queues.enqueueStage(job);
    return waitFor(async () => {
      const row = await db.generationJob.findUniqueOrThrow({ where: { id: job.id } });
      return row.stage === 'rendered' || row.status === 'failed' ? row : null;
    }, 'the render to end');
  }

  it('when a newer version is registered after the generation was resolved, then the recorded version is what renders, with its values bound', async () => {
    await registerWorkflow(db, { slug: 'studio', graph: graph('normal'), params });
    const resolvedOn = { slug: 'studio', version: 1, params: { cfg: 9 } };
    await registerWorkflow(db, { slug: 'studio', graph: graph('karras'), params });
    const row = await render(resolvedOn);
    expect(row).toMatchObject({ stage: 'rendered', errorCode: null });
    const sent = row.workflow as ReturnType<typeof graph>;
    expect(sent['5'].inputs).toMatchObject({ scheduler: 'normal', cfg: 9, seed: 77 });
    expect(sent['2'].inputs.text).toBe('kainakamura, on a rooftop');
    expect(sent['7'].inputs.filename_prefix).toBe(`jobs/${row.id}/kai-nakamura`);
  });

  it('when the recorded template version is not stored, then the generation fails with workflow_not_found', async () => {
    const row = await render({ slug: 'studio', version: 7, params: {} });
    expect(row).toMatchObject({ status: 'failed', errorCode: 'workflow_not_found' });
    expect(row.errorMessage).toContain('studio@7');
  });
});
