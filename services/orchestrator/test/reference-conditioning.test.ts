import type { Simulator, SimulatorOptions } from '@anime/comfyui-simulator';
import type { ConditioningReference, JobConditioning } from '@anime/contracts';
import { LocalLibraryStorage, sha256Hex } from '@anime/media';
import { loadGeneration, loadGenerationResource } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

// The simulator moves bytes and never decodes references: distinct byte strings with a PNG name will do.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

interface Fixture extends OrchestratorFixture {
  references: ConditioningReference[];
}

/** The shared orchestrator fixture, weight 0.6, with three reference images in its library. */
async function setUp(name: string, simulators: SimulatorOptions[]): Promise<Fixture> {
  const fx = await startOrchestratorFixture(name, { simulators, env: { IPADAPTER_WEIGHT: '0.6' } });
  const storage = new LocalLibraryStorage(fx.libraryDir);
  const references: ConditioningReference[] = [];
  // The face comes second: IP-Adapter takes the first face reference, not the first reference.
  for (const [label, kind] of [['full body', 'body'], ['face close-up', 'face'], ['side view', 'turnaround']] as const) {
    const bytes = Buffer.concat([PNG, Buffer.from(label)]);
    const reference = { id: `ref-${kind}`, label, kind, sha256: sha256Hex(bytes), path: `references/kai/${kind}.png` };
    await storage.write(reference.path, bytes);
    references.push(reference);
  }
  return { ...fx, references };
}

const render = (f: Fixture, conditioning: Partial<JobConditioning>, request: Record<string, unknown> = {}) => f.resolvedGeneration(request, { references: f.references, ...conditioning });

const settled = (f: Fixture, id: string) =>
  waitFor(async () => {
    const g = await f.db.generationJob.findUniqueOrThrow({ where: { id } });
    return g.stage === 'rendered' || g.status === 'failed' ? g : null;
  }, `generation ${id} to render or fail`, 30_000);

const received = (sim: Simulator, id: string) => sim.received.filter((p) => JSON.stringify(p).includes(id)).length;

describe('references that condition (orchestrator in-process, one backend with IP-Adapter and one without)', () => {
  let f: Fixture;
  let withIpAdapter: Simulator;
  let plain: Simulator;

  beforeAll(async () => {
    f = await setUp('reference-conditioning', [
      { stepMs: 5, checkpoints: ['plain.safetensors', 'shared.safetensors'] },
      { stepMs: 5, checkpoints: ['ip.safetensors', 'shared.safetensors'], customNodes: ['ipadapter'] },
    ]);
    [plain, withIpAdapter] = f.simulators;
  });

  afterAll(async () => {
    await f?.close();
  });

  it('when the IP-Adapter backend renders it, then the face reference is applied with the weight and the others are not_used', async () => {
    const id = await render(f, { checkpoint: 'ip.safetensors' });
    expect(await settled(f, id)).toMatchObject({ stage: 'rendered', backend: withIpAdapter.url });
    const resource = await loadGenerationResource(f.db, id);
    expect(resource!.references).toEqual([
      { id: 'ref-body', label: 'full body', kind: 'body', sha256: f.references[0].sha256, applied: false, appliedHow: { reason: 'not_used' } },
      { id: 'ref-face', label: 'face close-up', kind: 'face', sha256: f.references[1].sha256, applied: true, appliedHow: { method: 'ipadapter', weight: 0.6 } },
      { id: 'ref-turnaround', label: 'side view', kind: 'turnaround', sha256: f.references[2].sha256, applied: false, appliedHow: { reason: 'not_used' } },
    ]);
    // What the record says is what the graph does: IPAdapter reads the face's LoadImage.
    const graph = (await loadGeneration(f.db, id))!.workflow as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
    const ipAdapter = Object.values(graph).find((n) => n.class_type === 'IPAdapter')!;
    const [imageNode] = ipAdapter.inputs.image as [string, number];
    expect(graph[imageNode].inputs.image).toContain(f.references[1].sha256);
    expect(ipAdapter.inputs.weight).toBe(0.6);
  });

  it('when a backend without IP-Adapter renders it, then every reference is not applied: no_ipadapter_on_backend', async () => {
    const id = await render(f, { checkpoint: 'plain.safetensors' });
    expect(await settled(f, id)).toMatchObject({ stage: 'rendered', backend: plain.url });
    const resource = await loadGenerationResource(f.db, id);
    expect(resource!.references.map((r) => [r.kind, r.applied, r.appliedHow])).toEqual([
      ['body', false, { reason: 'no_ipadapter_on_backend' }],
      ['face', false, { reason: 'no_ipadapter_on_backend' }],
      ['turnaround', false, { reason: 'no_ipadapter_on_backend' }],
    ]);
  });

  it('when references are required and both backends have the checkpoint, then every such job goes to the IP-Adapter backend', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => render(f, { checkpoint: 'shared.safetensors' }, { references: 'required' })));
    const rows = await Promise.all(ids.map((id) => settled(f, id)));
    expect(rows.map((r) => [r.stage, r.backend])).toEqual(ids.map(() => ['rendered', withIpAdapter.url]));
    expect(ids.map((id) => received(plain, id))).toEqual([0, 0, 0]);
    expect((await loadGenerationResource(f.db, ids[0]))!.references.filter((r) => r.applied).map((r) => r.kind)).toEqual(['face']);
  });

  it('when references are required but only a backend without IP-Adapter has the checkpoint, then it fails at once with no_capable_backend naming both gaps', async () => {
    const started = Date.now();
    const id = await render(f, { checkpoint: 'plain.safetensors' }, { references: 'required' });
    const failed = await settled(f, id);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'no_capable_backend' });
    expect(failed.errorMessage).toContain('IP-Adapter');
    expect(received(plain, id) + received(withIpAdapter, id)).toBe(0);
  });
});

describe('references required with only backends without IP-Adapter (orchestrator in-process)', () => {
  let f: Fixture;
  let plain: Simulator;

  beforeAll(async () => {
    f = await setUp('reference-required-plain', [{ stepMs: 5, checkpoints: ['plain.safetensors'] }]);
    [plain] = f.simulators;
  });

  afterAll(async () => {
    await f?.close();
  });

  it('when references are required, then it fails at once with no_capable_backend naming the IP-Adapter nodes, and nothing is submitted', async () => {
    const started = Date.now();
    const id = await render(f, {}, { references: 'required' });
    const failed = await settled(f, id);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(failed).toMatchObject({ status: 'failed', stage: 'resolved', errorCode: 'no_capable_backend' });
    expect(failed.errorMessage).toContain('no backend has the IP-Adapter nodes (ComfyUI_IPAdapter_plus)');
    expect(failed.errorDetails).toMatchObject({ ipAdapter: true, missing: [expect.stringContaining('IP-Adapter')] });
    expect(received(plain, id)).toBe(0);
    expect(failed.referenceUse).toBeNull();
  });

  it('when references are auto (the default), then the same job renders there and says no reference conditioned it', async () => {
    const id = await render(f, {});
    expect(await settled(f, id)).toMatchObject({ stage: 'rendered', backend: plain.url });
    expect((await loadGenerationResource(f.db, id))!.references.every((r) => r.applied === false && (r.appliedHow as { reason: string }).reason === 'no_ipadapter_on_backend')).toBe(true);
  });
});
