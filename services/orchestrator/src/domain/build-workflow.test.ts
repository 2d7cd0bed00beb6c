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
});
