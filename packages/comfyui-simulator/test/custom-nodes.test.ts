import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../src';
import { encodePng } from '../src/images/png-encoder';
import { getJson, postJson, waitForHistory } from './helpers/http';
import { ipAdapterTextToImage } from './helpers/ipadapter-workflow';
import { pixelDigest } from './helpers/png-pixels';
import { textToImage } from '../src/sample-workflows';

const PRESETS = [
  'LIGHT - SD1.5 only (low strength)',
  'STANDARD (medium strength)',
  'VIT-G (medium strength)',
  'PLUS (high strength)',
  'PLUS FACE (portraits)',
  'FULL FACE - SD1.5 only (portraits stronger)',
];

/** A small real PNG, so LoadImage can read its size; `shade` makes different references. */
function referencePng(shade: number): Buffer {
  return encodePng({ width: 32, height: 24, rgb: Buffer.alloc(32 * 24 * 3, shade) });
}

async function uploadReference(sim: Simulator, bytes: Buffer, filename: string): Promise<string> {
  const form = new FormData();
  form.append('image', new Blob([bytes], { type: 'image/png' }), filename);
  form.append('subfolder', 'refs');
  const response = await fetch(`${sim.url}/upload/image`, { method: 'POST', body: form });
  expect(response.status).toBe(200);
  const { name, subfolder } = (await response.json()) as { name: string; subfolder: string };
  return `${subfolder}/${name}`;
}

async function runToImage(sim: Simulator, prompt: unknown): Promise<string> {
  const { status, json } = await postJson(sim.url, '/prompt', { prompt });
  expect(status).toBe(200);
  const entry = await waitForHistory(sim.url, json.prompt_id);
  expect(entry.status.status_str).toBe('success');
  const image = entry.outputs['9'].images[0];
  return join(sim.outputDir, image.subfolder, image.filename);
}

describe('custom node packs: ComfyUI_IPAdapter_plus', () => {
  let withPack: Simulator;
  let stock: Simulator;

  beforeAll(async () => {
    [withPack, stock] = await Promise.all([startSimulator({ stepMs: 1, customNodes: ['ipadapter'] }), startSimulator({ stepMs: 1 })]);
  });

  afterAll(() => Promise.all([withPack.close(), stock.close()]));

  it('when the pack is installed, then /object_info lists its two classes after the core ones', async () => {
    const names = Object.keys(await getJson(withPack.url, '/object_info'));
    expect(names.slice(-2)).toEqual(['IPAdapterUnifiedLoader', 'IPAdapter']);
    expect(names).toEqual([...Object.keys(await getJson(stock.url, '/object_info')), 'IPAdapterUnifiedLoader', 'IPAdapter']);
  });

  it('when asking for IPAdapterUnifiedLoader, then it has the six presets, an optional IPADAPTER and outputs MODEL, IPADAPTER', async () => {
    expect(await getJson(withPack.url, '/object_info/IPAdapterUnifiedLoader')).toEqual({
      IPAdapterUnifiedLoader: {
        input: { required: { model: ['MODEL'], preset: [PRESETS] }, optional: { ipadapter: ['IPADAPTER'] } },
        input_order: { required: ['model', 'preset'], optional: ['ipadapter'] },
        output: ['MODEL', 'IPADAPTER'],
        output_is_list: [false, false],
        output_name: ['model', 'ipadapter'],
        name: 'IPAdapterUnifiedLoader',
        display_name: 'IPAdapter Unified Loader',
        description: '',
        python_module: 'custom_nodes.ComfyUI_IPAdapter_plus',
        category: 'ipadapter',
        output_node: false,
      },
    });
  });

  it('when asking for IPAdapter, then it has the simple node’s inputs and outputs MODEL', async () => {
    const { IPAdapter: info } = await getJson(withPack.url, '/object_info/IPAdapter');
    expect(info.input).toEqual({
      required: {
        model: ['MODEL'],
        ipadapter: ['IPADAPTER'],
        image: ['IMAGE'],
        weight: ['FLOAT', { default: 1.0, min: -1, max: 3, step: 0.05 }],
        start_at: ['FLOAT', { default: 0.0, min: 0.0, max: 1.0, step: 0.001 }],
        end_at: ['FLOAT', { default: 1.0, min: 0.0, max: 1.0, step: 0.001 }],
        weight_type: [['standard', 'prompt is more important', 'style transfer']],
      },
      optional: { attn_mask: ['MASK'] },
    });
    expect(info).toMatchObject({ output: ['MODEL'], output_name: ['MODEL'], category: 'ipadapter', python_module: 'custom_nodes.ComfyUI_IPAdapter_plus' });
  });

  it('when the pack is not installed, then /object_info leaves the classes out and /object_info/IPAdapter is {}', async () => {
    const names = Object.keys(await getJson(stock.url, '/object_info'));
    expect(names).not.toContain('IPAdapter');
    expect(names).not.toContain('IPAdapterUnifiedLoader');
    expect(await getJson(stock.url, '/object_info/IPAdapter')).toEqual({});
    expect(await getJson(stock.url, '/object_info/IPAdapterUnifiedLoader')).toEqual({});
  });

  it('when an uploaded reference feeds IPAdapter, then the prompt runs, saves an image, and the reference steers its pixels', async () => {
    const first = await uploadReference(withPack, referencePng(40), 'face.png');
    const second = await uploadReference(withPack, referencePng(200), 'other.png');

    const guided = await runToImage(withPack, ipAdapterTextToImage({ image: first, prefix: 'ref/a' }));
    expect(existsSync(guided)).toBe(true);
    const otherReference = await runToImage(withPack, ipAdapterTextToImage({ image: second, prefix: 'ref/b' }));
    const plain = await runToImage(withPack, textToImage({ prefix: 'ref/plain' }));

    expect(pixelDigest(guided)).not.toBe(pixelDigest(otherReference));
    expect(pixelDigest(guided)).not.toBe(pixelDigest(plain));
  });

  it('when a plain prompt runs with the pack installed, then its image equals the one a stock simulator makes', async () => {
    const prompt = textToImage({ prefix: 'same/img', seed: 7 });
    expect(pixelDigest(await runToImage(withPack, prompt))).toBe(pixelDigest(await runToImage(stock, prompt)));
  });

  it('when the preset is unknown, then the loader fails with value_not_in_list listing the six presets', async () => {
    const image = await uploadReference(withPack, referencePng(90), 'preset.png');
    const { status, json } = await postJson(withPack.url, '/prompt', { prompt: ipAdapterTextToImage({ image, preset: 'ULTRA (max strength)' }) });
    expect(status).toBe(400);
    expect(json.error).toEqual({ type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} });
    expect(json.node_errors).toEqual({
      '21': {
        errors: [
          {
            type: 'value_not_in_list',
            message: 'Value not in list',
            details: `preset: 'ULTRA (max strength)' not in [${PRESETS.map((p) => `'${p}'`).join(', ')}]`,
            extra_info: { input_name: 'preset', input_config: [PRESETS, {}], received_value: 'ULTRA (max strength)' },
          },
        ],
        dependent_outputs: ['9'],
        class_type: 'IPAdapterUnifiedLoader',
      },
    });
  });

  it('when the reference file is not in input/, then LoadImage fails its custom validation', async () => {
    const { status, json } = await postJson(withPack.url, '/prompt', { prompt: ipAdapterTextToImage({ image: 'refs/missing.png' }) });
    expect(status).toBe(400);
    expect(json.node_errors['20']).toEqual({
      errors: [
        { type: 'custom_validation_failed', message: 'Custom validation failed for node', details: 'image - Invalid image file: refs/missing.png', extra_info: { input_name: 'image' } },
      ],
      dependent_outputs: ['9'],
      class_type: 'LoadImage',
    });
  });

  it('when a stock simulator gets an IPAdapter prompt, then it is the invalid_prompt of a class that does not exist', async () => {
    const image = await uploadReference(stock, referencePng(40), 'face.png');
    const { status, json } = await postJson(stock.url, '/prompt', { prompt: ipAdapterTextToImage({ image }) });
    expect(status).toBe(400);
    expect(json).toEqual({
      error: { type: 'invalid_prompt', message: 'Cannot execute because node IPAdapterUnifiedLoader does not exist.', details: "Node ID '#21'", extra_info: {} },
      node_errors: {},
    });
  });
});
