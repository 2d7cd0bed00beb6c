import { startSimulator, type Simulator } from '../src';
import { postJson } from './helpers/http';
import { emptyImageProbe, textToImage } from '../src/sample-workflows';

describe('validating prompts', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  const post = (prompt: unknown) => postJson(sim.url, '/prompt', { prompt, client_id: 'v' });

  it('when a checkpoint is unknown, then value_not_in_list shows the short list, as ComfyUI does', async () => {
    const { status, json } = await post(textToImage({ ckpt: 'x.safetensors' }));
    expect(status).toBe(400);
    expect(json.error).toEqual({ type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} });
    expect(json.node_errors).toEqual({
      '4': {
        errors: [
          {
            type: 'value_not_in_list',
            message: 'Value not in list',
            details: "ckpt_name: 'x.safetensors' not in ['anime-v1.safetensors', 'sd_xl_base_1.0.safetensors']",
            extra_info: {
              input_name: 'ckpt_name',
              input_config: [['anime-v1.safetensors', 'sd_xl_base_1.0.safetensors'], { tooltip: 'The name of the checkpoint (model) to load.' }],
              received_value: 'x.safetensors',
            },
          },
        ],
        dependent_outputs: ['9'],
        class_type: 'CheckpointLoaderSimple',
      },
    });
  });

  it('when an option list is longer than 20, then details give only its length and input_config is null', async () => {
    const prompt = textToImage();
    prompt['3'].inputs.sampler_name = 'nope';
    const { json } = await post(prompt);
    const [error] = json.node_errors['3'].errors;
    expect(error.details).toMatch(/^sampler_name: 'nope' not in \(list of length \d+\)$/);
    expect(error.extra_info.input_config).toBeNull();
  });

  it('when floats and ints are out of range, then the messages use Python’s number formatting', async () => {
    const prompt = textToImage();
    prompt['3'].inputs.cfg = -1;
    prompt['3'].inputs.steps = 20000;
    const { json } = await post(prompt);
    expect(json.node_errors['3'].errors.map((e: any) => [e.type, e.message, e.details])).toEqual([
      ['value_bigger_than_max', 'Value 20000 bigger than max of 10000', 'steps'],
      ['value_smaller_than_min', 'Value -1.0 smaller than min of 0.0', 'cfg'],
    ]);
  });

  it('when several nodes fail, then each is listed once with its own errors and the output it blocks', async () => {
    const prompt = textToImage();
    delete (prompt['6'].inputs as Record<string, unknown>).clip;
    (prompt['5'].inputs as Record<string, unknown>).width = 'wide';
    const { json } = await post(prompt);
    expect(Object.keys(json.node_errors).sort()).toEqual(['5', '6']);
    expect(json.node_errors['6'].errors[0]).toEqual({ type: 'required_input_missing', message: 'Required input is missing', details: 'clip', extra_info: { input_name: 'clip' } });
    expect(json.node_errors['5'].errors[0].details).toBe("width, wide, invalid literal for int() with base 10: 'wide'");
  });

  it('when a link points at a missing node upstream, then the linked node carries exception_during_inner_validation', async () => {
    const prompt = textToImage();
    prompt['3'].inputs.model = ['99', 0];
    const { json } = await post(prompt);
    expect(json.node_errors['3'].errors[0]).toMatchObject({
      type: 'exception_during_inner_validation',
      message: 'Exception when validating inner node',
      details: "'99'",
      extra_info: { input_name: 'samples', exception_type: 'KeyError', linked_node: ['3', 0] },
    });
  });

  it('when LoadImage names a file that is not in input/, then custom validation fails; once present it passes', async () => {
    const prompt = {
      '1': { class_type: 'LoadImage', inputs: { image: 'refs/face.png' } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'ref' } },
    };
    const rejected = await post(prompt);
    expect(rejected.json.node_errors['1'].errors).toEqual([
      { type: 'custom_validation_failed', message: 'Custom validation failed for node', details: 'image - Invalid image file: refs/face.png', extra_info: { input_name: 'image' } },
    ]);
    const upload = new FormData();
    upload.append('image', new Blob([Buffer.from('not really a png')]), 'face.png');
    upload.append('subfolder', 'refs');
    expect((await fetch(`${sim.url}/upload/image`, { method: 'POST', body: upload })).status).toBe(200);
    expect((await post(prompt)).status).toBe(200);
  });

  it('when one of two outputs is invalid, then the prompt is still queued (200) with node_errors for the bad one', async () => {
    const prompt = {
      ...emptyImageProbe('good'),
      '3': { class_type: 'SaveImage', inputs: { images: ['1', 0] } },
    };
    const { status, json } = await post(prompt);
    expect(status).toBe(200);
    expect(json.node_errors).toEqual({
      '3': { errors: [{ type: 'required_input_missing', message: 'Required input is missing', details: 'filename_prefix', extra_info: { input_name: 'filename_prefix' } }], dependent_outputs: ['3'], class_type: 'SaveImage' },
    });
  });

  it('when literals need converting, then the queued prompt holds the converted values', async () => {
    const prompt = emptyImageProbe('conv');
    (prompt['1'].inputs as Record<string, unknown>).width = '32';
    const { json } = await post(prompt);
    const queued = sim.received.find((r) => r.promptId === json.prompt_id)!;
    expect(queued.prompt['1'].inputs.width).toBe(32);
  });

  it('when nodes link in a cycle, then each gets dependency_cycle', async () => {
    const prompt = {
      '1': { class_type: 'VAEDecode', inputs: { samples: ['2', 0], vae: ['3', 2] } },
      '2': { class_type: 'KSampler', inputs: { ...textToImage()['3'].inputs, model: ['3', 0], positive: ['4', 0], negative: ['4', 0], latent_image: ['2', 0] } },
      '3': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'anime-v1.safetensors' } },
      '4': { class_type: 'CLIPTextEncode', inputs: { text: 'x', clip: ['3', 1] } },
      '9': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'cycle' } },
    };
    const { status, json } = await post(prompt);
    expect(status).toBe(400);
    expect(json.node_errors['2'].errors[0].type).toBe('dependency_cycle');
  });

  it('when a prompt_id is supplied, then it is used as given', async () => {
    const { json } = await postJson(sim.url, '/prompt', { prompt: emptyImageProbe('own-id'), prompt_id: 'my-own-id-1' });
    expect(json.prompt_id).toBe('my-own-id-1');
  });
});
