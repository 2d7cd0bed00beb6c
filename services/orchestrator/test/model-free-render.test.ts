import type { JobConditioning } from '@anime/contracts';
import { loadGeneration } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { registerWorkflow } from '@anime/workflows';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

// The protocol's health graph (§8.1): it needs only the CPU, no model file.
const emptyImageGraph = {
  '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'plain' } },
};
const KAI_LORA: JobConditioning['loras'] = [{ name: 'kai-style.safetensors', weight: 0.8 }];

describe('a graph that loads no model, on a ComfyUI that has no models (orchestrator in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: OrchestratorFixture;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('model-free-render', { simulators: [{ stepMs: 5, checkpoints: [], loras: [] }] });
    await registerWorkflow(fx.db, { slug: 'plain', graph: emptyImageGraph, params: {} });
  });

  afterAll(async () => {
    await fx?.close();
  });

  const ended = (id: string) =>
    waitFor(async () => {
      const row = (await loadGeneration(fx.db, id))!;
      return row.stage === 'rendered' || row.status === 'failed' ? row : null;
    }, 'the render to end');

  it('when a template has no checkpoint parameter, then it renders on a backend that lists no checkpoint, although the character has a LoRA the template cannot apply', async () => {
    const id = await fx.resolvedGeneration({}, { loras: KAI_LORA, workflow: { slug: 'plain', version: 1, params: {} } });
    const row = await ended(id);
    expect(row).toMatchObject({ stage: 'rendered', errorCode: null });
    const sent = row.workflow as Record<string, { class_type: string }>;
    expect(Object.values(sent).map((node) => node.class_type)).toEqual(['EmptyImage', 'SaveImage']);
  });

  it('when the built-in graph (which loads a checkpoint) is asked of the same backend, then it still fails with no_capable_backend naming the missing checkpoint', async () => {
    const row = await ended(await fx.resolvedGeneration());
    expect(row).toMatchObject({ status: 'failed', errorCode: 'no_capable_backend' });
    expect(row.errorMessage).toMatch(/any checkpoint/);
  });
});
