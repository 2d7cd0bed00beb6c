import type { TemplateGraph, TemplateParams } from '@anime/contracts';
import type { TemplateVersion } from '@anime/workflows';
import { assignReferences, bindTemplate, templateCheckpoint } from './bind-template';

const graph: TemplateGraph = {
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'studio.safetensors' } },
  '2': { class_type: 'CLIPTextEncode', inputs: { text: 'placeholder', clip: ['1', 1] } },
  '3': { class_type: 'CLIPTextEncode', inputs: { text: 'lowres', clip: ['1', 1] } },
  '4': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
  '5': { class_type: 'KSampler', inputs: { model: ['1', 0], seed: 1, steps: 20, cfg: 7, sampler_name: 'euler', positive: ['2', 0], negative: ['3', 0], latent_image: ['4', 0] } },
  '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
  '7': { class_type: 'SaveImage', inputs: { images: ['6', 0], filename_prefix: 'ComfyUI' } },
  '10': { class_type: 'LoadImage', inputs: { image: 'pose.png' } },
  '11': { class_type: 'LoadImage', inputs: { image: 'face.png' } },
};

const params: TemplateParams = {
  prompt: { type: 'string', node: '2', input: 'text' },
  seed: { type: 'int', node: '5', input: 'seed' },
  width: { type: 'int', node: '4', input: 'width' },
  count: { type: 'int', node: '4', input: 'batch_size' },
  checkpoint: { type: 'string', node: '1', input: 'ckpt_name' },
  loras: { type: 'loras', node: '1' },
  cfg: { type: 'float', node: '5', input: 'cfg', default: 5.5 },
  sampler_name: { type: 'enum', node: '5', input: 'sampler_name', options: ['euler', 'uni_pc'] },
  pose: { type: 'image', node: '10', input: 'image' },
  face: { type: 'image', node: '11', input: 'image', kind: 'face' },
};

const template = (values: TemplateVersion['values'] = {}, overrides: Partial<TemplateVersion> = {}): TemplateVersion => ({ ref: { slug: 'studio', version: 1 }, graph, params, values, ...overrides });
const filled = { prompt: 'kai, rooftop', negative: 'blurry', seed: 99, steps: 8, width: 768, height: 512, count: 2, checkpoint: 'anime-v1.safetensors' };
const bind = (overrides: Partial<Parameters<typeof bindTemplate>[0]> = {}) =>
  bindTemplate({ template: template({ cfg: 9, sampler_name: 'uni_pc' }), jobId: 'j1', characterSlug: 'kai', filled, loras: [], references: [], ...overrides });

describe('bindTemplate', () => {
  it('when a template is bound, then well-known parameters take the request and character values and free ones the recorded values, leaving unbound literals alone', () => {
    const wf = bind();
    expect(wf['2'].inputs.text).toBe('kai, rooftop');
    expect(wf['3'].inputs.text).toBe('lowres'); // no "negative" parameter: the graph's own literal stays
    expect(wf['4'].inputs).toEqual({ width: 768, height: 512, batch_size: 2 });
    expect(wf['5'].inputs).toMatchObject({ seed: 99, steps: 20, cfg: 9, sampler_name: 'uni_pc' });
    expect(wf['1'].inputs.ckpt_name).toBe('anime-v1.safetensors');
    expect(wf['7'].inputs.filename_prefix).toBe('jobs/j1/kai');
    expect(graph['2'].inputs.text).toBe('placeholder');
    expect(graph['7'].inputs.filename_prefix).toBe('ComfyUI');
  });

  it('when the character has LoRAs, then they are chained after the named node and every reader of its MODEL and CLIP reads the chain', () => {
    const wf = bind({ loras: [{ name: 'a.safetensors', weight: 0.8 }, { name: 'b.safetensors', weight: 0.5 }] });
    expect(wf['12']).toMatchObject({ class_type: 'LoraLoader', inputs: { model: ['1', 0], clip: ['1', 1], lora_name: 'a.safetensors', strength_model: 0.8, strength_clip: 0.8 } });
    expect(wf['13'].inputs).toMatchObject({ model: ['12', 0], clip: ['12', 1], lora_name: 'b.safetensors' });
    expect(wf['5'].inputs.model).toEqual(['13', 0]);
    expect(wf['2'].inputs.clip).toEqual(['13', 1]);
    expect(wf['3'].inputs.clip).toEqual(['13', 1]);
    expect(wf['6'].inputs.vae).toEqual(['1', 2]);
  });

  it('when references are staged, then a slot with a kind gets that kind first and the other slots the next unused ones in order; a slot left without one keeps its literal', () => {
    const body = { sha256: 'b'.repeat(64), kind: 'body', image: 'anime-ref-bbbb.png' };
    const face = { sha256: 'f'.repeat(64), kind: 'face', image: 'anime-ref-ffff.png' };
    const wf = bind({ references: [body, face] });
    expect(wf['10'].inputs.image).toBe('anime-ref-bbbb.png');
    expect(wf['11'].inputs.image).toBe('anime-ref-ffff.png');
    const one = bind({ references: [body] });
    expect(one['10'].inputs.image).toBe('anime-ref-bbbb.png');
    expect(one['11'].inputs.image).toBe('face.png');
    expect([...assignReferences(params, [face]).keys()]).toEqual(['face']);
  });

  it('when a free parameter is named like an Object.prototype member and has no value, then the graph literal stays', () => {
    const named: TemplateParams = { ...params, toString: { type: 'float' as const, node: '5', input: 'cfg' }, constructor: { type: 'enum' as const, node: '5', input: 'sampler_name', options: ['euler', 'uni_pc'] } };
    const wf = bindTemplate({ template: template({}, { params: named }), jobId: 'j1', characterSlug: 'kai', filled, loras: [], references: [] });
    expect(wf['5'].inputs).toMatchObject({ cfg: 7, sampler_name: 'euler' });
    const given = bindTemplate({ template: template({ toString: 9, constructor: 'uni_pc' }, { params: named }), jobId: 'j1', characterSlug: 'kai', filled, loras: [], references: [] });
    expect(given['5'].inputs).toMatchObject({ cfg: 9, sampler_name: 'uni_pc' });
  });

  it('when no value is recorded for a free parameter, then the graph literal stays', () => {
    const wf = bindTemplate({ template: template({}), jobId: 'j1', characterSlug: 'kai', filled, loras: [], references: [] });
    expect(wf['5'].inputs).toMatchObject({ cfg: 7, sampler_name: 'euler' });
  });

  it('when a template has a checkpoint parameter, then it asks for its default, else the graph literal', () => {
    expect(templateCheckpoint(template())).toBe('studio.safetensors');
    expect(templateCheckpoint(template({}, { params: { checkpoint: { type: 'string', node: '1', input: 'ckpt_name', default: 'x.safetensors' } } }))).toBe('x.safetensors');
    expect(templateCheckpoint(template({}, { params: {} }))).toBeUndefined();
    expect(templateCheckpoint(null)).toBeUndefined();
  });
});
