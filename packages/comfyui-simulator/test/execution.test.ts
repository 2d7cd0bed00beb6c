import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXECUTION_ERROR_MARKER, readPngSize, readPngText, startSimulator, type Simulator } from '../src';
import { postJson, waitForHistory } from './helpers/http';
import { summarize, WsRecorder } from './helpers/ws-recorder';
import { textToImage } from '../src/sample-workflows';

describe('running prompts', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 2 });
    ws = await WsRecorder.connect(sim.url, 'orch-1');
  });

  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  async function run(prompt: unknown, extra: Record<string, unknown> = {}) {
    const from = ws.messages.length;
    const response = await postJson(sim.url, '/prompt', { prompt, client_id: 'orch-1', ...extra });
    expect(response.status).toBe(200);
    const messages = await ws.untilDone(response.json.prompt_id, from);
    return { promptId: response.json.prompt_id as string, messages, entry: await waitForHistory(sim.url, response.json.prompt_id) };
  }

  const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  it('when a text-to-image prompt runs, then nodes run in ComfyUI’s order with one progress event per step', async () => {
    const { messages, entry } = await run(textToImage({ steps: 4 }));
    expect(messages.filter((m) => m.type === 'executing').map((m) => m.data.node)).toEqual(['4', '5', '7', '6', '3', '8', '9', null]);
    const sampler = messages.slice(messages.findIndex((m) => m.type === 'executing' && m.data.node === '3'));
    // Integer-like keys come out in numeric order once parsed in JavaScript, whatever order they were sent in.
    const state = 'progress_state(3:running,4:finished,5:finished,6:finished,7:finished)';
    expect(sampler.slice(0, 9).map(summarize)).toEqual([
      "executing(node='3')", state, 'progress(1/4)', state, 'progress(2/4)', state, 'progress(3/4)', state, 'progress(4/4)',
    ]);
    expect(messages.find((m) => m.type === 'progress')!.data).toEqual({ value: 1, max: 4, prompt_id: expect.any(String), node: '3' });
    expect(entry.outputs['9'].images).toEqual([{ filename: 'img_00001_.png', subfolder: 'jobs/job-0001', type: 'output' }]);
    const file = join(sim.outputDir, 'jobs/job-0001/img_00001_.png');
    expect(readPngSize(readFileSync(file))).toEqual({ width: 64, height: 48 });
  });

  it('when only the seed changes, then loaders and encoders are cached and a new file gets the next counter', async () => {
    const { messages, entry } = await run(textToImage({ steps: 2, seed: 7 }));
    expect(messages.find((m) => m.type === 'execution_cached')!.data.nodes).toEqual(['4', '5', '6', '7']);
    expect(messages.filter((m) => m.type === 'executing').map((m) => m.data.node)).toEqual(['3', '8', '9', null]);
    expect(entry.outputs['9'].images[0].filename).toBe('img_00002_.png');
  });

  it('when seeds differ, then the images differ; when everything is the same, then no new file is written', async () => {
    const a = await run(textToImage({ seed: 1, prefix: 'seeds/a' }));
    const b = await run(textToImage({ seed: 2, prefix: 'seeds/a' }));
    const fileA = join(sim.outputDir, 'seeds', a.entry.outputs['9'].images[0].filename);
    const fileB = join(sim.outputDir, 'seeds', b.entry.outputs['9'].images[0].filename);
    expect(sha(fileA)).not.toBe(sha(fileB));

    const again = await run(textToImage({ seed: 2, prefix: 'seeds/a' }));
    expect(again.messages.find((m) => m.type === 'execution_cached')!.data.nodes).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    expect(again.entry.outputs).toEqual(b.entry.outputs);
    expect(existsSync(join(sim.outputDir, 'seeds', 'a_00003_.png'))).toBe(false);
  });

  it('when a batch is saved, then it gets consecutive counters and the PNGs carry prompt and extra_pnginfo chunks', async () => {
    const prompt = textToImage({ batch: 2, prefix: 'batch/shot', seed: 99 });
    const { entry } = await run(prompt, { extra_data: { extra_pnginfo: { workflow: { id: 'wf-1' }, job: 'j-1' } } });
    expect(entry.outputs['9'].images.map((i: any) => i.filename)).toEqual(['shot_00001_.png', 'shot_00002_.png']);
    const text = readPngText(readFileSync(join(sim.outputDir, 'batch', 'shot_00001_.png')));
    expect(Object.keys(text)).toEqual(['prompt', 'workflow', 'job']);
    expect(JSON.parse(text.prompt)).toEqual(prompt);
    expect(text.workflow).toBe('{"id": "wf-1"}');
    expect(text.job).toBe('"j-1"');
  });

  it('when failNext is armed, then the next prompt fails on its KSampler with an OOM and history says error', async () => {
    sim.failNext('execution_error');
    const { messages, entry } = await run(textToImage({ seed: 1234 }));
    const error = messages.find((m) => m.type === 'execution_error')!.data;
    expect(error).toMatchObject({ node_id: '3', node_type: 'KSampler', exception_type: 'torch.OutOfMemoryError' });
    expect(error.exception_message).toMatch(/^Allocation on device \nThis error means you ran out of memory on your GPU/);
    expect(error.current_inputs.seed).toEqual([1234]);
    expect(error.current_inputs.model[0]).toMatch(/^<comfy\.model_patcher\.ModelPatcher object at 0x/);
    expect(Object.keys(error)).toEqual(['prompt_id', 'node_id', 'node_type', 'executed', 'exception_message', 'exception_type', 'traceback', 'current_inputs', 'current_outputs', 'timestamp']);
    expect(entry.status.status_str).toBe('error');
    expect(entry.status.messages.at(-1)[0]).toBe('execution_error');

    const next = await run(textToImage({ seed: 1234 }));
    expect(next.entry.status.status_str).toBe('success');
  });

  it('when failNext carries a message and the prompt is fully cached, then it still fails with that message', async () => {
    sim.failNext('execution_error', 'CUDA error: device-side assert triggered');
    const { messages } = await run(textToImage({ seed: 1234 }));
    const error = messages.find((m) => m.type === 'execution_error')!.data;
    expect(error.exception_message).toBe('CUDA error: device-side assert triggered\n');
    expect(error.node_type).toBe('SaveImage');
  });

  it('when a prompt text carries the marker, then its sampler fails every time', async () => {
    for (let i = 0; i < 2; i++) {
      const { messages } = await run(textToImage({ positive: `a cat ${EXECUTION_ERROR_MARKER}` }));
      expect(messages.find((m) => m.type === 'execution_error')!.data).toMatchObject({ node_type: 'KSampler', exception_type: 'torch.OutOfMemoryError' });
    }
  });

  it('when a prompt has no client_id, then only progress events are broadcast', async () => {
    const from = ws.messages.length;
    const response = await postJson(sim.url, '/prompt', { prompt: textToImage({ seed: 555, steps: 2 }) });
    await waitForHistory(sim.url, response.json.prompt_id);
    await new Promise((r) => setTimeout(r, 30));
    expect([...new Set(ws.messages.slice(from).map((m) => m.type))]).toEqual(['status', 'progress_state', 'progress']);
  });

  it('when PreviewImage runs, then it writes a temp file viewable with type=temp', async () => {
    const { entry } = await run({
      '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0xff0000 } },
      '2': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
    });
    const image = entry.outputs['2'].images[0];
    expect(image).toMatchObject({ subfolder: '', type: 'temp' });
    expect(image.filename).toMatch(/^ComfyUI_temp_[a-z]{5}_00001_\.png$/);
    const view = await fetch(`${sim.url}/view?filename=${image.filename}&type=temp`);
    expect(view.status).toBe(200);
  });
});
