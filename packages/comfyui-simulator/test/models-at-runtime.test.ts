import { startSimulator, type Simulator } from '../src';
import { getJson, postJson as post } from './helpers/http';

const checkpointPrompt = (ckpt: string) => ({
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
  '2': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
  '3': { class_type: 'CLIPTextEncode', inputs: { text: 'x', clip: ['1', 1] } },
  '4': { class_type: 'KSampler', inputs: { model: ['1', 0], positive: ['3', 0], negative: ['3', 0], latent_image: ['2', 0], seed: 1, steps: 1, cfg: 7, sampler_name: 'euler', scheduler: 'normal', denoise: 1 } },
  '5': { class_type: 'VAEDecode', inputs: { samples: ['4', 0], vae: ['1', 2] } },
  '6': { class_type: 'SaveImage', inputs: { images: ['5', 0], filename_prefix: 'models' } },
});

describe('model files changed while the simulator runs', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1, checkpoints: ['old.safetensors'], loras: ['style.safetensors'] });
  });

  afterAll(() => sim.close());

  it('when a checkpoint is deleted and another added (POST /sim/models), then /object_info, /models and validation see it at the next request', async () => {
    expect((await post(sim.url, '/prompt', { prompt: checkpointPrompt('old.safetensors') })).status).toBe(200);
    expect(await post(sim.url, '/sim/models', { checkpoints: ['new.safetensors'] })).toMatchObject({ status: 200, json: { checkpoints: ['new.safetensors'], loras: ['style.safetensors'] } });
    const info = await getJson(sim.url, '/object_info');
    expect(info.CheckpointLoaderSimple.input.required.ckpt_name[0]).toEqual(['new.safetensors']);
    expect(info.LoraLoader.input.required.lora_name[0]).toEqual(['style.safetensors']);
    expect(await getJson(sim.url, '/models/checkpoints')).toEqual(['new.safetensors']);
    const refused = await post(sim.url, '/prompt', { prompt: checkpointPrompt('old.safetensors') });
    expect(refused.status).toBe(400);
    expect(refused.json.node_errors['1'].errors[0]).toMatchObject({ type: 'value_not_in_list', extra_info: { input_name: 'ckpt_name', received_value: 'old.safetensors' } });
    expect((await post(sim.url, '/prompt', { prompt: checkpointPrompt('new.safetensors') })).status).toBe(200);
  });

  it('when a test calls setModels, then the LoRA list changes and the checkpoints stay', async () => {
    sim.setModels({ loras: [] });
    expect(await getJson(sim.url, '/models/loras')).toEqual([]);
    expect(await getJson(sim.url, '/models/checkpoints')).toEqual(['new.safetensors']);
  });

  it('when POST /sim/models gets no JSON object of file lists, then it is a 400 and nothing changes', async () => {
    for (const body of [{ checkpoints: 'x.safetensors' }, { loras: [1] }, { checkpoints: [''] }, ['x.safetensors'], 'not json']) expect((await post(sim.url, '/sim/models', body)).status).toBe(400);
    expect(await getJson(sim.url, '/models/checkpoints')).toEqual(['new.safetensors']);
  });
});
