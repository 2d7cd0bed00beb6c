import { readFile } from 'node:fs/promises';
import path from 'node:path';
import axios from 'axios';
import { encodePng } from '@anime/comfyui-simulator';
import { startSimulatorProcess, type SimulatorProcess } from '@anime/stack';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

/** How LoadImage names an uploaded file: `subfolder/name`, or the bare name at the top of input/. */
const asLoadImageValue = (upload: { name: string; subfolder: string }) => (upload.subfolder ? `${upload.subfolder}/${upload.name}` : upload.name);

interface GraphNode { class_type: string; inputs: Record<string, unknown> }
type Graph = Record<string, GraphNode>;

/** Issue #4: the exact character version, its outfit and its reference images reach ComfyUI. */
describe('character versions, outfits and references reach the ComfyUI backends', () => {
  let backends: SimulatorProcess[] = [];
  let fx: StackFixture;
  let kaiReferences: { sha256: string; label: string }[];

  beforeAll(async () => {
    // Backend b has the ComfyUI_IPAdapter_plus nodes, backend a only core nodes.
    backends = [await startSimulatorProcess({ stepMs: 5 }, 'simulator-a'), await startSimulatorProcess({ stepMs: 5, customNodes: ['ipadapter'] }, 'simulator-b')];
    fx = await startStackFixture('e2e-character', { comfyUrls: backends.map((b) => b.url) });
    const kai = await fx.api.get('/api/v1/characters/kai-nakamura');
    kaiReferences = kai.data.references;
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
    await Promise.all(backends.map((b) => b.process.stop()));
  });

  async function generate(body: Record<string, unknown>) {
    const res = await fx.api.post('/api/v1/generations', { prompt: 'walking home in the rain', steps: 4, ...body });
    expect(res.status).toBe(202);
    return waitForGenerationEnd(fx, res.data.id);
  }

  /** The graph the backend itself stored for the prompt (its /history), not what we meant to send. */
  async function graphReceived(generation: { backend: string; promptId: string }): Promise<Graph> {
    const history = await axios.get(`${generation.backend}/history/${generation.promptId}`);
    return history.data[generation.promptId].prompt[2];
  }

  const positiveText = (graph: Graph) => String(graph['6'].inputs.text);
  const classes = (graph: Graph) => Object.values(graph).map((n) => n.class_type);

  it('when a generation is pinned to kai-nakamura@2, then version 2 text reaches the backend, and the current version when unpinned', async () => {
    const pinned = await generate({ character: 'kai-nakamura@2' });
    const current = await generate({ character: 'kai-nakamura' });
    expect(pinned.status).toBe('completed');
    expect(current.status).toBe('completed');
    expect(pinned.character).toMatchObject({ slug: 'kai-nakamura', version: 2 });
    expect(current.character).toMatchObject({ slug: 'kai-nakamura', version: 3 });

    const v2 = await graphReceived(pinned);
    expect(positiveText(v2)).toContain('shoulder-length dark blue hair');
    expect(positiveText(v2)).not.toContain('kainakamura');
    expect(positiveText(v2)).not.toContain('silver ear cuff');
    expect(classes(v2)).not.toContain('LoraLoader');
    expect(v2['7'].inputs.text).toBe('lowres, bad anatomy');

    const v3 = await graphReceived(current);
    expect(positiveText(v3).startsWith('kainakamura')).toBe(true);
    expect(positiveText(v3)).toContain('silver ear cuff on right ear');

    expect(pinned.assets[0].character.version).toBe(2);
    expect(pinned.assets[0].path).toContain('kai-nakamura_v2_');
  });

  it('when a character has LoRAs the backend lists, then they are chained between the checkpoint and the sampler', async () => {
    const created = await fx.api.post('/api/v1/characters', {
      name: 'Mika Ink',
      definition: { displayName: 'Mika Ink', triggerWords: ['mikaink'], loras: [{ name: 'style/inkwash.safetensors', weight: 0.6 }] },
    });
    expect(created.status).toBe(201);
    const generation = await generate({ character: 'mika-ink' });
    expect(generation.status).toBe('completed');
    const graph = await graphReceived(generation);
    expect(graph['20']).toMatchObject({ class_type: 'LoraLoader', inputs: { lora_name: 'style/inkwash.safetensors', strength_model: 0.6, model: ['4', 0], clip: ['4', 1] } });
    expect(graph['3'].inputs.model).toEqual(['20', 0]);
    expect(graph['6'].inputs.clip).toEqual(['20', 1]);
  });

  it('when a reference is uploaded to a character, then the next unpinned generation uploads it to the backend and loads it', async () => {
    const bytes = encodePng({ width: 8, height: 8, rgb: Buffer.alloc(8 * 8 * 3, 77) });
    const form = new FormData();
    form.append('file', new Blob([bytes]), 'mika-face.png');
    form.append('label', 'Mika face');
    form.append('kind', 'face');
    const uploaded = await fx.api.post('/api/v1/characters/mika-ink/references', form);
    expect(uploaded.status).toBe(201);

    const generation = await generate({ character: 'mika-ink' });
    expect(generation.status).toBe('completed');
    expect(generation.references).toEqual([expect.objectContaining({ label: 'Mika face', kind: 'face', sha256: uploaded.data.sha256 })]);
    const { uploads } = (await axios.get(`${generation.backend}/sim/uploads`)).data as { uploads: { sha256: string; name: string; subfolder: string }[] };
    const staged = uploads.filter((u) => u.sha256 === uploaded.data.sha256);
    expect(staged).toHaveLength(1);
    const loaded = Object.values(await graphReceived(generation)).filter((n) => n.class_type === 'LoadImage').map((n) => n.inputs.image);
    expect(loaded).toEqual([asLoadImageValue(staged[0])]);

    // Version 1 was made before the upload: pinned, it reproduces without the image.
    const pinned = await generate({ character: 'mika-ink@1' });
    expect(pinned.references).toEqual([]);
    expect(Object.values(await graphReceived(pinned)).some((n) => n.class_type === 'LoadImage')).toBe(false);
  });

  it('when an outfit is chosen, then its prompt is in the graph and the job, asset and sidecar record it; an unknown outfit is a 400 listing the outfits', async () => {
    const generation = await generate({ character: 'kai-nakamura', outfit: 'Jacket' });
    expect(generation.status).toBe('completed');
    expect(generation.outfit).toBe('jacket');
    expect(positiveText(await graphReceived(generation))).toContain('red bomber jacket');
    const asset = generation.assets[0];
    expect(asset.outfit).toBe('jacket');
    const sidecar = JSON.parse(await readFile(path.join(fx.libraryDir, `${asset.path}.json`), 'utf8'));
    expect(sidecar.character).toMatchObject({ id: generation.character.id, slug: 'kai-nakamura', version: 3, outfit: 'jacket' });

    const unknown = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'x', outfit: 'swimsuit' });
    expect(unknown.status).toBe(400);
    expect(unknown.data.error.code).toBe('outfit_not_found');
    expect(unknown.data.error.message).toContain('school uniform');
    expect(unknown.data.error.details.available).toEqual(['school uniform', 'jacket']);
  });

  it('when Kai is generated on two backends, then each receives each reference once through /upload/image, LoadImage names it, and job, asset and sidecar record its sha256', async () => {
    expect(kaiReferences.map((r) => r.label).sort()).toEqual(['Hiroshi', 'Sakura']);
    const expectedHashes = kaiReferences.map((r) => r.sha256).sort();

    // Routing keeps sequential jobs of one checkpoint on the backend that last used it: draining
    // the other backend in turn sends two jobs to each.
    const ids = new Map(((await fx.api.get('/api/v1/backends')).data.items as { id: string; url: string }[]).map((b) => [b.url, b.id]));
    const generations = [];
    for (const [index, backend] of backends.entries()) {
      const others = backends.filter((b) => b !== backend).map((b) => ids.get(b.url)!);
      for (const id of others) expect((await fx.api.post(`/api/v1/backends/${id}/drain`)).status).toBe(200);
      for (let i = 0; i < 2; i++) generations.push(await generate({ character: 'kai-nakamura', seed: index * 2 + i }));
      for (const id of others) expect((await fx.api.post(`/api/v1/backends/${id}/undrain`)).status).toBe(200);
    }
    expect(generations.map((g) => g.backend)).toEqual(backends.flatMap((b) => [b.url, b.url]));

    // An orchestrator restart forgets nothing: the uploads are remembered in PostgreSQL.
    await fx.stack.services.orchestrator!.restart();
    generations.push(await generate({ character: 'kai-nakamura', seed: 9 }), await generate({ character: 'kai-nakamura', seed: 10 }));

    for (const backend of backends) {
      const { uploads } = (await axios.get(`${backend.url}/sim/uploads`)).data as { uploads: { sha256: string; name: string; subfolder: string }[] };
      // Other characters' images may be there too; each of Kai's arrived exactly once.
      expect(uploads.map((u) => u.sha256).filter((sha) => expectedHashes.includes(sha)).sort()).toEqual(expectedHashes);
    }

    for (const generation of generations) {
      expect(generation.status).toBe('completed');
      expect(generation.references.map((r: { sha256: string }) => r.sha256).sort()).toEqual(expectedHashes);
      const graph = await graphReceived(generation);
      const loaded = Object.values(graph).filter((n) => n.class_type === 'LoadImage').map((n) => String(n.inputs.image));
      const { uploads } = (await axios.get(`${generation.backend}/sim/uploads`)).data as { uploads: { sha256: string; name: string; subfolder: string }[] };
      expect(loaded.sort()).toEqual(uploads.filter((u) => expectedHashes.includes(u.sha256)).map(asLoadImageValue).sort());

      if (generation.backend === backends[1].url) {
        // The face reference (Sakura) conditions the model through IP-Adapter, ahead of the sampler.
        const sakura = kaiReferences.find((r) => r.label === 'Sakura')!;
        const ipAdapter = Object.entries(graph).find(([, n]) => n.class_type === 'IPAdapter')!;
        const [imageNode] = ipAdapter[1].inputs.image as [string, number];
        expect(String(graph[imageNode].inputs.image)).toContain(sakura.sha256);
        expect(graph['3'].inputs.model).toEqual([ipAdapter[0], 0]);
      } else {
        expect(classes(graph)).not.toContain('IPAdapter');
        expect(graph['3'].inputs.model).toEqual(['4', 0]);
      }

      // Provenance says which reference conditioned the image on the backend that rendered it.
      const applied = (refs: { label: string; applied?: boolean; appliedHow?: unknown }[]) =>
        refs.map((r) => [r.label, r.applied, r.appliedHow]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      const expectedApplied =
        generation.backend === backends[1].url
          ? [['Hiroshi', false, { reason: 'not_used' }], ['Sakura', true, { method: 'ipadapter', weight: 0.7 }]]
          : [['Hiroshi', false, { reason: 'no_ipadapter_on_backend' }], ['Sakura', false, { reason: 'no_ipadapter_on_backend' }]];
      expect(applied(generation.references)).toEqual(expectedApplied);

      const asset = generation.assets[0];
      expect(asset.references.map((r: { sha256: string }) => r.sha256).sort()).toEqual(expectedHashes);
      expect(applied(asset.references)).toEqual(expectedApplied);
      const sidecar = JSON.parse(await readFile(path.join(fx.libraryDir, `${asset.path}.json`), 'utf8'));
      expect(sidecar.references.map((r: { sha256: string }) => r.sha256).sort()).toEqual(expectedHashes);
      expect(applied(sidecar.references)).toEqual(expectedApplied);
      expect(sidecar.character).toMatchObject({ id: generation.character.id, version: 3 });
    }
  });

  it('when references are required, then the job runs only on the IP-Adapter backend; a version without references is a 400 references_unavailable', async () => {
    const required = [];
    for (let i = 0; i < 3; i++) required.push(await generate({ character: 'kai-nakamura', seed: 20 + i, references: 'required' }));
    expect(required.map((g) => [g.status, g.backend])).toEqual(required.map(() => ['completed', backends[1].url]));
    expect(required[0].request.references).toBe('required');
    expect(required[0].references.filter((r: { applied?: boolean }) => r.applied).map((r: { label: string }) => r.label)).toEqual(['Sakura']);

    const none = await fx.api.post('/api/v1/generations', { character: 'mika-ink@1', prompt: 'x', references: 'required' });
    expect(none.status).toBe(400);
    expect(none.data.error.code).toBe('references_unavailable');
    expect(none.data.error.details).toEqual({ character: 'mika-ink', version: 1 });
    const bad = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'x', references: 'always' });
    expect(bad.status).toBe(400);
    expect(bad.data.error.details).toEqual([expect.objectContaining({ path: 'references' })]);
  });
});
