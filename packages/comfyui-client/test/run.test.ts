import { randomUUID } from 'node:crypto';
import { COMFYUI_VERSIONS, startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient, ComfyExecutionError, ComfyInterruptedError, ComfyValidationError, type ProgressEvent } from '../src';
import { PromptFollower } from '../src/run/prompt-follower';
import { SILENT_LOGGER } from '../src/types';

// Against both real ComfyUI versions the simulator stands in for (they differ in empty-body Content-Type,
// extra_data.create_time and the order of a cached output's replay; the client must not depend on those).
describe.each(COMFYUI_VERSIONS)('ComfyClient.run against the simulator (simulating ComfyUI %s)', (comfyuiVersion) => {
  let sim: Simulator;
  let client: ComfyClient;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5, comfyuiVersion });
    client = new ComfyClient({ baseUrl: sim.url });
    await client.connect();
  });

  afterAll(async () => {
    client.close();
    await sim.close();
  });

  it('when a prompt runs, then progress is reported per sampler step and the output files come back', async () => {
    const progress: ProgressEvent[] = [];
    const started: string[] = [];
    const promptId = randomUUID();
    const accepted: { promptId: string; number: number }[] = [];
    const result = await client.run(textToImage({ steps: 5, prefix: 'jobs/test/img' }), {
      promptId,
      onProgress: (p) => void progress.push(p),
      onStarted: ({ promptId: id }) => void started.push(id),
      onAccepted: (a) => void accepted.push(a),
    });

    expect(result.promptId).toBe(promptId);
    expect(result.cached).toBe(false);
    expect(result.outputs).toEqual([{ nodeId: '9', filename: 'img_00001_.png', subfolder: 'jobs/test', type: 'output' }]);
    expect(result.history.status?.status_str).toBe('success');
    expect(started).toEqual([promptId]);
    expect(accepted).toEqual([{ promptId, number: expect.any(Number) }]);
    expect(progress.map((p) => p.value)).toEqual([1, 2, 3, 4, 5]);
    expect(progress[0]).toEqual({ promptId, node: '3', classType: 'KSampler', value: 1, max: 5 });
    expect(sim.received.at(-1)).toMatchObject({ promptId, clientId: client.clientId });
  });

  it('when the prompt keeps a LoadImage of a missing file that nothing consumes, then its NaN is_changed does not hide the history and the run completes', async () => {
    // ComfyUI does not validate a node no output needs, but still hashes LoadImage's file for the
    // cache; a missing file makes that hash NaN, which json.dumps writes as a bare NaN in /history.
    const prompt = { ...textToImage({ steps: 1, seed: 4242 }), '30': { class_type: 'LoadImage', inputs: { image: 'gone-from-input.png' } } };
    const promptId = randomUUID();
    const result = await client.run(prompt, { promptId, signal: AbortSignal.timeout(10_000) });
    expect(result.outputs).toHaveLength(1);
    expect(result.history.prompt[2]['30']).toMatchObject({ class_type: 'LoadImage', is_changed: null });
    expect(await client.history(promptId)).toMatchObject({ status: { status_str: 'success' } });
  });

  it('when latestProgressOnly and onProgress is slow, then ticks collapse into the latest, in order, the first at once and the last before the result', async () => {
    const seen: number[] = [];
    const result = await client.run(textToImage({ steps: 30, seed: 4242 }), {
      latestProgressOnly: true,
      onProgress: async (p) => {
        seen.push(p.value);
        await new Promise((resolve) => setTimeout(resolve, 40));
      },
    });
    expect(result.outputs).toHaveLength(1);
    expect(seen[0]).toBe(1);
    expect(seen.at(-1)).toBe(30);
    expect(seen.length).toBeLessThan(30);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('when the same prompt runs again, then it is reported as cached with the earlier files', async () => {
    const first = await client.run(textToImage({ seed: 77 }));
    const again = await client.run(textToImage({ seed: 77 }));
    expect(again.cached).toBe(true);
    expect(again.outputs).toEqual(first.outputs);
    expect(again.promptId).not.toBe(first.promptId);
  });

  it('when one output is cached and another new, then both files come back, whichever executed message arrives first', async () => {
    const withProbe = (seed: number) => ({
      ...textToImage({ seed, steps: 2, prefix: `jobs/mix-${comfyuiVersion}/img` }),
      '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: `mix-${comfyuiVersion}/probe` } },
    });
    const first = await client.run(withProbe(501));
    const second = await client.run(withProbe(502));
    expect(second.cached).toBe(false);
    expect(second.outputs.map((o) => o.nodeId).sort()).toEqual(['2', '9']);
    expect(second.outputs.find((o) => o.nodeId === '2')).toEqual(first.outputs.find((o) => o.nodeId === '2'));
    expect(second.outputs.find((o) => o.nodeId === '9')?.filename).toBe('img_00002_.png');
  });

  it('when a checkpoint does not exist, then a ComfyValidationError names the node, its class and ComfyUI’s message', async () => {
    const accepted: unknown[] = [];
    const error = await client.run(textToImage({ ckpt: 'x.safetensors' }), { onAccepted: (a) => void accepted.push(a) }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyValidationError);
    expect(accepted).toEqual([]);
    expect(error.type).toBe('prompt_outputs_failed_validation');
    expect(error.summary).toBe("node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'x.safetensors' not in ['anime-v1.safetensors', 'sd_xl_base_1.0.safetensors']");
    expect(error.message).toContain(error.summary);
    expect(error.body.node_errors['4'].class_type).toBe('CheckpointLoaderSimple');
  });

  it('when the prompt has no output node, then the summary is ComfyUI’s top-level message', async () => {
    const prompt = textToImage();
    delete prompt['9'];
    const error = await client.submit(prompt).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyValidationError);
    expect(error.summary).toBe('Prompt has no outputs');
  });

  it('when the server fails the next prompt, then ComfyExecutionError carries ComfyUI’s exception message and node', async () => {
    sim.failNext('execution_error');
    const error = await client.run(textToImage({ seed: 5 })).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyExecutionError);
    expect(error.message).toBe(
      'Allocation on device \nThis error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.',
    );
    expect(error).toMatchObject({ nodeId: '3', nodeType: 'KSampler', exceptionType: 'torch.OutOfMemoryError' });
    expect(error.details.traceback.length).toBeGreaterThan(0);
    expect(error.details.exception_message).toMatch(/^Allocation on device \n/);
  });

  it('when a node raises with an empty message (a bare assert), then ComfyExecutionError names the exception type and node instead', async () => {
    sim.failNext('execution_error', '', 'AssertionError');
    const error = await client.run(textToImage({ seed: 7 })).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyExecutionError);
    expect(error.message).toBe('ComfyUI reported AssertionError in node 3 (KSampler) with no message');
    expect(error.details.exception_message).toBe('\n');
  });

  it('when a prompt text carries the simulator’s marker, then the error surfaces through the whole run', async () => {
    sim.failNext('execution_error', 'CUDA error: an illegal memory access was encountered');
    const error = await client.run(textToImage({ seed: 6 })).catch((e) => e);
    expect(error.message).toBe('CUDA error: an illegal memory access was encountered');
    const marked = await client.run(textToImage({ positive: 'kai __sim_execution_error__' })).catch((e) => e);
    expect(marked).toBeInstanceOf(ComfyExecutionError);
    expect(marked.nodeType).toBe('KSampler');
  });

  it('when the abort signal fires, then the prompt is interrupted on the server and run rejects with the reason', async () => {
    const controller = new AbortController();
    const promptId = randomUUID();
    // 2,000 steps × 5 ms: the cancel (two requests) lands while the prompt runs even on a loaded
    // machine; with 400 steps, a 2-s stall under the full suite once let it finish first.
    const running = client.run(textToImage({ steps: 2000, seed: 9 }), { promptId, signal: controller.signal, onProgress: () => controller.abort(new Error('job cancelled')) });
    await expect(running).rejects.toThrow('job cancelled');
    const entry = await waitForHistory(client, promptId);
    expect(entry.status?.messages.at(-1)?.[0]).toBe('execution_interrupted');
  });

  it('when the abort comes before the POST is answered (the first progress can come first), then the prompt is still interrupted on the server', async () => {
    // What run does, with its steps pulled apart: follow, post, abort on the first progress, and only then wait for the result.
    const controller = new AbortController();
    const promptId = randomUUID();
    const follower = new PromptFollower(
      {
        subscribe: (listener) => client.onMessage(listener),
        history: (id) => client.history(id),
        queue: () => client.queue(),
        cancel: async (id) => {
          await client.deleteFromQueue([id]);
          await client.interrupt(id);
        },
        log: SILENT_LOGGER,
      },
      promptId,
      { signal: controller.signal },
    );
    const firstProgress = new Promise<void>((resolve) => {
      const stop = client.onMessage((message) => message.type === 'progress' && message.data.prompt_id === promptId && (stop(), resolve()));
    });
    await client.submit(textToImage({ steps: 2000, seed: 10 }), { promptId });
    await firstProgress;
    controller.abort(new Error('job cancelled'));
    try {
      await expect(follower.result({ justPosted: true })).rejects.toThrow('job cancelled');
    } finally {
      follower.dispose();
    }
    const entry = await waitForHistory(client, promptId);
    expect(entry.status?.messages.at(-1)?.[0]).toBe('execution_interrupted');
  });

  it('when someone else interrupts the prompt, then run rejects with ComfyInterruptedError', async () => {
    const promptId = randomUUID();
    const running = client.run(textToImage({ steps: 2000, seed: 10 }), { promptId, onStarted: () => void client.interrupt(promptId) });
    const error = await running.catch((e) => e);
    expect(error).toBeInstanceOf(ComfyInterruptedError);
    expect(error.nodeType).toBeDefined();
  });

  it('when ComfyUI queues a prompt but reports node_errors, then submit throws and the prompt does not run', async () => {
    // Long enough that it cannot run to its end before submit takes it off (deleted if still pending,
    // interrupted if it started): a short one could, on an idle simulator, and read as a success.
    const prompt = { ...textToImage({ seed: 11, steps: 2000 }), '10': { class_type: 'SaveImage', inputs: { images: ['8', 0] } } };
    const error = await client.submit(prompt).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyValidationError);
    expect(error.promptId).toEqual(expect.any(String));
    expect(error.summary).toBe('node 10 (SaveImage): Required input is missing: filename_prefix');
    // Once ComfyUI holds it no more: never run (no history), or stopped (an error).
    let held = true;
    for (let i = 0; i < 400 && held; i++) {
      const { running, pending } = await client.queue();
      held = [...running, ...pending].some((entry) => entry.promptId === error.promptId);
      if (held) await new Promise((r) => setTimeout(r, 25));
    }
    expect(held).toBe(false);
    const entry = await client.history(error.promptId);
    expect(entry === undefined || entry.status?.status_str === 'error').toBe(true);
  });
});

async function waitForHistory(client: ComfyClient, promptId: string) {
  for (let i = 0; i < 600; i++) {
    const entry = await client.history(promptId);
    if (entry) return entry;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no history for ${promptId}`);
}
