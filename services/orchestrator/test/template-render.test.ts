import { generationRequestBodySchema, type JobConditioning } from '@anime/contracts';
import type { Db } from '@anime/db';
import { JobLifecycle, loadGeneration, type RunningService } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { registerWorkflow } from '@anime/workflows';
import { DEFAULT_CHECKPOINTS } from '@anime/comfyui-simulator';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

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
  let fx: OrchestratorFixture;
  let db: Db;
  let service: RunningService;
  let resolution: { characterId: string; characterVersionId: string };

  beforeAll(async () => {
    fx = await startOrchestratorFixture('template-render', { simulators: [{ stepMs: 5 }] });
    ({ db, service } = fx);
    resolution = { characterId: fx.character.id, characterVersionId: fx.character.versionId };
  });

  afterAll(async () => {
    await fx?.close();
  });

  async function render(workflow: JobConditioning['workflow']) {
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'on a rooftop', seed: 77 });
    const conditioning: JobConditioning = { positive: 'kainakamura, on a rooftop', negative: '', loras: [], references: [], outfit: null, workflow };
    const { job } = await new JobLifecycle(db).create({ body, source: 'test', resolution: { ...resolution, conditioning } });
    await service.ctx.queues.enqueueStage(job);
    return waitFor(async () => {
      // The row as the stages read it: its workflow is the graph its latest attempt sent.
      const row = (await loadGeneration(db, job.id))!;
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

  it('when the template\'s checkpoint literal is a file no backend has, then the backend\'s first checkpoint is bound and it renders (README: Workflow templates, checkpoint)', async () => {
    const studioGraph = graph('normal');
    studioGraph['1'].inputs.ckpt_name = 'studio-machine-only.safetensors';
    await registerWorkflow(db, { slug: 'exported', graph: studioGraph, params: { ...params, checkpoint: { type: 'string' as const, node: '1', input: 'ckpt_name' } } });
    const row = await render({ slug: 'exported', version: 1, params: { cfg: 6 } });
    expect(row).toMatchObject({ stage: 'rendered', errorCode: null });
    expect((row.workflow as ReturnType<typeof graph>)['1'].inputs.ckpt_name).toBe(DEFAULT_CHECKPOINTS[0]);
  });

  it('when the graph previews its image beside saving it, then only the saved file is an output; a graph that only previews files its previews', async () => {
    const both = { ...graph('normal'), '8': { class_type: 'PreviewImage', inputs: { images: ['6', 0] } } };
    await registerWorkflow(db, { slug: 'previewed', graph: both, params });
    const saved = await render({ slug: 'previewed', version: 1, params: {} });
    expect(saved).toMatchObject({ stage: 'rendered', errorCode: null });
    expect((saved.outputs as { items: { nodeId: string; type: string }[] }).items).toEqual([expect.objectContaining({ nodeId: '7', type: 'output' })]);

    const { '7': _save, ...previewOnly } = both;
    await registerWorkflow(db, { slug: 'preview-only', graph: previewOnly, params });
    const previewed = await render({ slug: 'preview-only', version: 1, params: {} });
    expect(previewed).toMatchObject({ stage: 'rendered', errorCode: null });
    expect((previewed.outputs as { items: { nodeId: string; type: string }[] }).items).toEqual([expect.objectContaining({ nodeId: '8', type: 'temp' })]);
  });

  it('when the recorded template version is not stored, then the generation fails with workflow_not_found', async () => {
    const row = await render({ slug: 'studio', version: 7, params: {} });
    expect(row).toMatchObject({ status: 'failed', errorCode: 'workflow_not_found' });
    expect(row.errorMessage).toContain('studio@7');
  });
});
