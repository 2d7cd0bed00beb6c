import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPngText, startSimulator, type Simulator } from '../src';
import { captureBytes } from './helpers/captures';
import { getJson, waitForHistory } from './helpers/http';

/**
 * SaveImage writes tEXt "prompt" = json.dumps(prompt) of the dict the server keeps (10_probe_view.png:
 * `{"1": {"class_type": "EmptyImage", "inputs": {...}}, ...}`, default separators). That dict is the
 * posted JSON after validate_inputs converted literals in place (float() turns cfg 7 into 7.0, int()
 * turns steps 2.0 into 2) and after IsChangedCache stored LoadImage's IS_CHANGED result on its node:
 * "is_changed": [sha256 hex of the file]. Keys stay in the order they were posted.
 */
describe('the prompt chunk of a saved PNG', () => {
  let sim: Simulator;
  // Raw text, so the keys go out in the order written here (JSON.stringify would sort integer-like ones).
  const postRaw = async (body: string) => ((await (await fetch(`${sim.url}/prompt`, { method: 'POST', body })).json()) as { prompt_id: string });

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  it('when the captured probe runs, then its chunk is the captured text', async () => {
    const body = '{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}}, "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "probe"}}}}';
    const { prompt_id: promptId } = await postRaw(body);
    const entry = await waitForHistory(sim.url, promptId);
    const saved = readFileSync(join(sim.outputDir, entry.outputs['2'].images[0].filename));
    expect(readPngText(saved)).toEqual(readPngText(captureBytes('10_probe_view.png')));
  });

  it('when FLOAT inputs are sent as ints and a LoadImage is present, then the chunk, history and /queue show Python’s prompt', async () => {
    const reference = Buffer.from('not really a png, but a file LoadImage can hash');
    writeFileSync(join(sim.inputDir, 'ref.png'), reference);
    const sha = createHash('sha256').update(reference).digest('hex');
    const nodes = [
      '"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "anime-v1.safetensors"}}',
      '"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "caf\\u00e9", "clip": ["4", 1]}}',
      '"7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}}',
      '"5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 48, "batch_size": 1}}',
      '"3": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 18446744073709551615, "steps": 2.0, "cfg": 7, "sampler_name": "euler", "scheduler": "normal", "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0], "denoise": 1}, "_meta": {"title": "KSampler", "w": 1.0}}',
      '"8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}',
      '"20": {"class_type": "LoadImage", "inputs": {"image": "ref.png"}}',
      '"9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "chunk/img"}}',
    ];
    const body = `{"prompt": {${nodes.join(',')}}, "client_id": "c", "extra_data": {"extra_pnginfo": {"workflow": {"zoom": 1.0, "10": 1, "2": 2}}}}`;
    const { prompt_id: promptId } = await postRaw(body);
    const entry = await waitForHistory(sim.url, promptId);

    const expected =
      '{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "anime-v1.safetensors"}}, ' +
      '"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "caf\\u00e9", "clip": ["4", 1]}}, ' +
      '"7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}}, ' +
      '"5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 48, "batch_size": 1}}, ' +
      '"3": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 18446744073709551615, "steps": 2, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0], "denoise": 1.0}, "_meta": {"title": "KSampler", "w": 1.0}}, ' +
      '"8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}, ' +
      `"20": {"class_type": "LoadImage", "inputs": {"image": "ref.png"}, "is_changed": ["${sha}"]}, ` +
      '"9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "chunk/img"}}}';
    const text = readPngText(readFileSync(join(sim.outputDir, 'chunk', entry.outputs['9'].images[0].filename)));
    expect(text.prompt).toBe(expected);
    expect(text.workflow).toBe('{"zoom": 1.0, "10": 1, "2": 2}');
    expect(Object.keys(text)).toEqual(['prompt', 'workflow']);

    // History keeps the same dict, so its raw JSON carries the same text.
    const raw = await (await fetch(`${sim.url}/history/${promptId}`)).text();
    expect(raw).toContain(`"prompt": [${entry.prompt[0]}, "${promptId}", ${expected}, {"extra_pnginfo": {"workflow": {"zoom": 1.0, "10": 1, "2": 2}}, "client_id": "c"}, ["9"]]`);
    expect((await getJson(sim.url, '/queue')).queue_running).toEqual([]);
  });

  it('when a node is posted with its own is_changed, then that value is kept, as IsChangedCache uses it', async () => {
    writeFileSync(join(sim.inputDir, 'own.png'), 'x');
    const body =
      '{"prompt": {"1": {"class_type": "LoadImage", "inputs": {"image": "own.png"}, "is_changed": "mine"}, ' +
      '"2": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}, ' +
      '"3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "own"}}}}';
    const { prompt_id: promptId } = await postRaw(body);
    const entry = await waitForHistory(sim.url, promptId);
    const text = readPngText(readFileSync(join(sim.outputDir, entry.outputs['3'].images[0].filename)));
    expect(text.prompt).toContain('"1": {"class_type": "LoadImage", "inputs": {"image": "own.png"}, "is_changed": "mine"}');
  });
});
