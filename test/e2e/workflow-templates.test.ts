import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ComfyClient } from '@anime/comfyui-client';
import { encodePng } from '@anime/comfyui-simulator';
import { loadGeneration } from '@anime/pipeline';
import { portraitGraph, portraitParams } from '../../services/gateway/test/workflow-template-fixture';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

interface GraphNode { class_type: string; inputs: Record<string, unknown> }
type Graph = Record<string, GraphNode>;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Issue #14: a studio's own graph, registered through REST, runs with its parameters bound. */
describe('workflow templates through the whole stack', () => {
  let fx: StackFixture;
  let face: { sha256: string };

  beforeAll(async () => {
    fx = await startStackFixture('e2e-workflows', { simulatorStepMs: 5 });
    const created = await fx.api.post('/api/v1/characters', {
      name: 'Mika Ink',
      definition: { displayName: 'Mika Ink', triggerWords: ['mikaink'], loras: [{ name: 'style/inkwash.safetensors', weight: 0.6 }] },
    });
    expect(created.status).toBe(201);
    const form = new FormData();
    form.append('file', new Blob([encodePng({ width: 8, height: 8, rgb: Buffer.alloc(8 * 8 * 3, 99) })]), 'mika-face.png');
    form.append('label', 'Mika face');
    form.append('kind', 'face');
    const uploaded = await fx.api.post('/api/v1/characters/mika-ink/references', form);
    expect(uploaded.status).toBe(201);
    face = uploaded.data;
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  /** The graph the backend itself stored for the prompt (its /history, read as ComfyUI writes it), not what we meant to send. */
  async function graphReceived(generation: { backend: string; promptId: string }): Promise<Graph> {
    const client = new ComfyClient({ baseUrl: generation.backend });
    try {
      const entry = await client.history(generation.promptId);
      if (!entry) throw new Error(`no /history entry for prompt ${generation.promptId}`);
      return entry.prompt[2] as Graph;
    } finally {
      client.close();
    }
  }

  it('when a template is registered through REST and a generation runs it with params, then the backend receives the bound graph and the asset is filed', async () => {
    // The studio's graph has a LoadImage the character's face reference fills (it feeds nothing
    // here, so ComfyUI neither validates nor runs it: it records which image belongs to the job).
    const graph = { ...portraitGraph(), '20': { class_type: 'LoadImage', inputs: { image: 'studio-placeholder.png' } } };
    const params = { ...portraitParams(), face: { type: 'image', node: '20', input: 'image', kind: 'face' } };
    const registered = await fx.api.post('/api/v1/workflows', { slug: 'portrait', name: 'Studio portrait', graph, params });
    expect(registered.status).toBe(201);
    expect(registered.data).toMatchObject({ slug: 'portrait', version: 1, warnings: [] });

    const res = await fx.api.post('/api/v1/generations', {
      character: 'mika-ink', prompt: 'reading by the window', workflow: 'portrait', params: { cfg: 9.5, sampler_name: 'dpmpp_2m' },
      seed: 1234, steps: 4, width: 256, height: 192, project: 'studio', episode: 'ep02', scene: 'sc010',
    });
    expect(res.status).toBe(202);
    const generation = await waitForGenerationEnd(fx, res.data.id);
    expect(generation).toMatchObject({
      status: 'completed', error: null,
      request: { workflow: 'portrait', params: { cfg: 9.5, sampler_name: 'dpmpp_2m' } },
      workflow: { slug: 'portrait', version: 1, params: { cfg: 9.5, sampler_name: 'dpmpp_2m' } },
    });

    const received = await graphReceived(generation);
    const lora = Object.entries(received).find(([, n]) => n.class_type === 'LoraLoader');
    expect(lora?.[1].inputs).toMatchObject({ lora_name: 'style/inkwash.safetensors', strength_model: 0.6, model: ['1', 0], clip: ['1', 1] });
    expect(received['5'].inputs).toMatchObject({ cfg: 9.5, sampler_name: 'dpmpp_2m', seed: 1234, steps: 4, scheduler: 'normal', model: [lora![0], 0] });
    expect(received['4'].inputs).toEqual({ width: 256, height: 192, batch_size: 1 });
    expect(String(received['2'].inputs.text)).toMatch(/^mikaink, .*reading by the window$/);
    expect(received['2'].inputs.clip).toEqual([lora![0], 1]);
    expect(received['1'].inputs.ckpt_name).toBe('anime-v1.safetensors');
    expect(received['7'].inputs.filename_prefix).toBe(`jobs/${res.data.id}/mika-ink`);
    expect(received['20'].inputs.image).toEqual(expect.stringContaining(`anime-ref-${face.sha256}`));

    // What was sent is what the generation stores, and the chosen version is recorded for a retry.
    const row = (await loadGeneration(fx.db, res.data.id))!;
    // ComfyUI adds `is_changed` (the file's hash) to LoadImage nodes of the prompt it keeps; the rest is as sent.
    const withoutIsChanged = Object.fromEntries(Object.entries(received).map(([id, node]) => {
      const { is_changed: _hash, ...sent } = node as typeof node & { is_changed?: unknown };
      return [id, sent];
    }));
    expect(row.workflow).toEqual(withoutIsChanged);
    expect((row.conditioning as { workflow: unknown }).workflow).toEqual({ slug: 'portrait', version: 1, params: { cfg: 9.5, sampler_name: 'dpmpp_2m' } });

    expect(generation.assets).toHaveLength(1);
    const asset = generation.assets[0];
    expect(asset.path).toMatch(/^studio\/ep02\/sc010\/mika-ink\/mika-ink_v1_/);
    expect(sha256(await readFile(path.join(fx.libraryDir, asset.path)))).toBe(asset.sha256);
    const sidecar = JSON.parse(await readFile(path.join(fx.libraryDir, `${asset.path}.json`), 'utf8'));
    expect(sidecar).toMatchObject({ template: { slug: 'portrait', version: 1 }, workflow: withoutIsChanged });
  });

  it('when a template keeps a LoadImage of a file the backend lacks and nothing consumes it, then the generation still completes', async () => {
    // ComfyUI does not validate that node, but hashes its missing file to NaN and writes the NaN into
    // the prompt /history returns (Python's json.dumps): the history must still be read.
    const graph = { ...portraitGraph(), '21': { class_type: 'LoadImage', inputs: { image: 'never-uploaded.png' } } };
    const registered = await fx.api.post('/api/v1/workflows', { slug: 'portrait-with-spare-loader', graph, params: portraitParams() });
    expect(registered.status).toBe(201);
    const res = await fx.api.post('/api/v1/generations', { character: 'mika-ink', prompt: 'spare loader', workflow: 'portrait-with-spare-loader', steps: 2 });
    expect(res.status).toBe(202);
    const generation = await waitForGenerationEnd(fx, res.data.id, 30_000);
    expect(generation).toMatchObject({ status: 'completed', error: null });
    expect(generation.assets).toHaveLength(1);
    expect((await graphReceived(generation))['21']).toMatchObject({ class_type: 'LoadImage', inputs: { image: 'never-uploaded.png' } });
  });

  it('when a registered template gets a parameter it refuses, then the POST is a 400 naming it and nothing is queued', async () => {
    const before = await fx.db.generationJob.count();
    const res = await fx.api.post('/api/v1/generations', { character: 'mika-ink', prompt: 'x', workflow: 'portrait@1', params: { cfg: 99, scheduler: 'karras' } });
    expect(res.status).toBe(400);
    expect(res.data.error.code).toBe('validation_failed');
    expect(res.data.error.details.map((d: { path: string }) => d.path)).toEqual(['params.cfg', 'params.scheduler']);
    expect(await fx.db.generationJob.count()).toBe(before);
  });
});
