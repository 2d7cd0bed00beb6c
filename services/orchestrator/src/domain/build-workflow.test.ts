import { buildTextToImageWorkflow } from './build-workflow';

const base = { jobId: 'j1', characterSlug: 'kai', checkpoint: 'anime.safetensors', positive: 'kai, red scarf', negative: 'blurry', seed: 7, steps: 20, width: 512, height: 768, count: 2 };

describe('buildTextToImageWorkflow', () => {
  it('when there are no LoRAs, then prompts and sampler read the checkpoint directly', () => {
    const wf = buildTextToImageWorkflow({ ...base, loras: [] });
    expect(wf['6'].inputs).toEqual({ text: 'kai, red scarf', clip: ['4', 1] });
    expect(wf['3'].inputs.model).toEqual(['4', 0]);
    expect(wf['5'].inputs).toEqual({ width: 512, height: 768, batch_size: 2 });
    expect(wf['9'].inputs.filename_prefix).toBe('jobs/j1/kai');
  });

  it('when there are two LoRAs, then they are chained and consumers read the last one', () => {
    const wf = buildTextToImageWorkflow({ ...base, loras: [{ name: 'a.safetensors', weight: 0.8 }, { name: 'b.safetensors', weight: 0.5 }] });
    expect(wf['20']).toMatchObject({ class_type: 'LoraLoader', inputs: { model: ['4', 0], clip: ['4', 1], lora_name: 'a.safetensors', strength_model: 0.8 } });
    expect(wf['21'].inputs).toMatchObject({ model: ['20', 0], clip: ['20', 1], lora_name: 'b.safetensors' });
    expect(wf['3'].inputs.model).toEqual(['21', 0]);
    expect(wf['6'].inputs.clip).toEqual(['21', 1]);
    expect(wf['7'].inputs.clip).toEqual(['21', 1]);
  });

  const face = { sha256: 'f'.repeat(64), kind: 'face', image: 'anime-ref-ffff.png' };
  const body = { sha256: 'b'.repeat(64), kind: 'body', image: 'anime-ref-bbbb.png' };

  it('when references are staged on a backend without IP-Adapter, then each is a LoadImage that nothing consumes', () => {
    const wf = buildTextToImageWorkflow({ ...base, loras: [], references: [body, face] });
    expect(wf['50']).toMatchObject({ class_type: 'LoadImage', inputs: { image: 'anime-ref-bbbb.png' } });
    expect(wf['51']).toMatchObject({ class_type: 'LoadImage', inputs: { image: 'anime-ref-ffff.png' } });
    const consumed = Object.values(wf).flatMap((node) => Object.values(node.inputs).filter(Array.isArray).map((link) => (link as unknown[])[0]));
    expect(consumed).not.toContain('50');
    expect(consumed).not.toContain('51');
    expect(wf['3'].inputs.model).toEqual(['4', 0]);
  });

  it('when the backend has IP-Adapter, then the face reference conditions the model after the LoRA chain', () => {
    const wf = buildTextToImageWorkflow({ ...base, loras: [{ name: 'a.safetensors', weight: 0.8 }], references: [body, face], ipAdapter: { weight: 0.7 } });
    expect(wf['70']).toEqual({ class_type: 'IPAdapterUnifiedLoader', inputs: { model: ['20', 0], preset: 'PLUS FACE (portraits)' } });
    expect(wf['71'].inputs).toMatchObject({ model: ['70', 0], ipadapter: ['70', 1], image: ['51', 0], weight: 0.7 });
    expect(wf['3'].inputs.model).toEqual(['71', 0]);
    expect(wf['6'].inputs.clip).toEqual(['20', 1]);
  });

  it('when a character has more than 20 references, then each keeps its own LoadImage and none collides with the IP-Adapter nodes', () => {
    const references = Array.from({ length: 25 }, (_, i) => ({ sha256: i.toString(16).padStart(64, '0'), kind: i === 21 ? 'face' : 'body', image: `anime-ref-${i}.png` }));
    const wf = buildTextToImageWorkflow({ ...base, loras: [], references, ipAdapter: { weight: 0.7 } });
    const loaded = Object.entries(wf).filter(([, node]) => node.class_type === 'LoadImage');
    expect(loaded.map(([, node]) => node.inputs.image).sort()).toEqual(references.map((r) => r.image).sort());
    const faceNode = loaded.find(([, node]) => node.inputs.image === 'anime-ref-21.png')![0];
    const adapter = Object.entries(wf).filter(([, node]) => node.class_type === 'IPAdapter');
    expect(adapter).toHaveLength(1);
    expect(adapter[0][1].inputs.image).toEqual([faceNode, 0]);
    expect(wf[(adapter[0][1].inputs.ipadapter as [string, number])[0]].class_type).toBe('IPAdapterUnifiedLoader');
    expect(wf['3'].inputs.model).toEqual([adapter[0][0], 0]);
  });

  it('when the backend has IP-Adapter but the version has no reference, then the template has no reference input', () => {
    const wf = buildTextToImageWorkflow({ ...base, loras: [], references: [], ipAdapter: { weight: 0.7 } });
    expect(wf['70']).toBeUndefined();
    expect(wf['3'].inputs.model).toEqual(['4', 0]);
  });
});
