import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient, ComfyHttpError, MAX_JSON_ANSWER_BYTES, type ProgressEvent } from '../src';
import { SILENT_LOGGER } from '../src/types';
import { useMisbehavingSimulator } from './helpers/misbehaving-simulator';

const MiB = 1024 * 1024;

/**
 * A broken or hostile ComfyUI (the simulator armed with one answer no real ComfyUI gives): every
 * answer costs a bounded amount of memory and time, and ends in an error that says what was wrong.
 */
describe('ComfyClient facing answers no ComfyUI gives (simulator misbehaving)', () => {
  const fx = useMisbehavingSimulator();

  it('when /history streams hundreds of MB, then reading stops past the JSON bound with a ComfyHttpError saying so', async () => {
    fx.sim.misbehave({ kind: 'oversized', path: '/history/', bytes: 400 * MiB });
    const error = await fx.client.history('p-1').catch((e) => e);
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error.message).toMatch(/answered GET \/history\/p-1 with more than 64 MiB/);
    // Cut off at the bound: what the server got to send is the bound plus what socket buffers hold.
    expect(fx.sim.misbehaviours.at(-1)!.bytesSent).toBeLessThan(MAX_JSON_ANSWER_BYTES + 32 * MiB);
  });

  it('when /view announces gigabytes, then not a byte more is read and it is a ComfyHttpError; a stream past the caller\'s bound is cut there', async () => {
    fx.sim.misbehave({ kind: 'oversized', path: '/view', bytes: 5 * 1024 * MiB, declared: true });
    const asked = Date.now();
    const error = await fx.client.view({ filename: 'x.png' }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error.message).toMatch(/with more than 64 MiB/);
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(fx.sim.misbehaviours.at(-1)!.bytesSent).toBeLessThan(32 * MiB);

    fx.sim.misbehave({ kind: 'oversized', path: '/view', bytes: 100 * MiB });
    await expect(fx.client.view({ filename: 'x.png' }, { maxBytes: MiB })).rejects.toThrow(/with more than 1 MiB/);
    expect(fx.sim.misbehaviours.at(-1)!.bytesSent).toBeLessThan(33 * MiB);
  });

  it('when /queue answers more than the bound while a prompt runs (a busy server: every waiting graph with its UI workflow), then the run is followed to its end by history and events, and /queue is not asked again', async () => {
    fx.sim.misbehave({ kind: 'oversized', path: '/queue', bytes: 100 * MiB, declared: true });
    const warnings: string[] = [];
    const watching = new ComfyClient({ baseUrl: fx.sim.url, log: { ...SILENT_LOGGER, warn: (message) => warnings.push(message) } });
    try {
      await watching.connect();
      // Polled every 20 ms, so /queue is due at once and every fifth poll while 300 steps of 1 ms run.
      const result = await watching.run(textToImage({ steps: 300, seed: 41 }), { pollIntervalMs: 20 });
      expect(result.outputs).toHaveLength(1);
      expect(fx.sim.misbehaviours.filter((r) => r.path === '/queue')).toHaveLength(1);
      expect(warnings).toEqual(['comfyui /queue is too large to read; following the prompt by its history and events alone']);
    } finally {
      watching.close();
    }
  });

  it('when /queue answers more than the bound while a restarted client resumes a prompt, then follow() goes on by history and events rather than failing or resubmitting', async () => {
    const watching = new ComfyClient({ baseUrl: fx.sim.url });
    try {
      const { promptId } = await fx.client.submit(textToImage({ steps: 300, seed: 42 }));
      fx.sim.misbehave({ kind: 'oversized', path: '/queue', bytes: 100 * MiB, declared: true });
      const queueReads = () => fx.sim.misbehaviours.filter((r) => r.path === '/queue').length;
      const readsBefore = queueReads();
      const result = await watching.follow(promptId, { pollIntervalMs: 20, resubmit: textToImage({ steps: 300, seed: 42 }) });
      expect(result.outputs).toHaveLength(1);
      // Neither resubmitted nor asked /queue again once it was too large.
      expect(fx.sim.received.filter((p) => p.promptId === promptId)).toHaveLength(1);
      expect(queueReads() - readsBefore).toBe(1);
    } finally {
      watching.close();
    }
  });

  it('when a JSON route answers 200 with a page that is not JSON, then it is a ComfyHttpError saying so, not an empty history or model list', async () => {
    fx.sim.misbehave({ kind: 'not_json', path: '/history/' });
    const error = await fx.client.history('p-2').catch((e) => e);
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error.message).toBe(`ComfyUI at ${fx.sim.url} answered GET /history/p-2 with a body that is not JSON`);
    expect(error.body).toContain('502 Bad Gateway');
    fx.sim.misbehave({ kind: 'not_json', path: '/object_info' });
    await expect(fx.client.listCheckpoints()).rejects.toThrow(/not JSON/);
  });

  it('when a route answers JSON of the wrong shape (null, an array), then it is a ComfyHttpError saying so; a model list keeps only names', async () => {
    fx.sim.misbehave({ kind: 'json', path: '/object_info', body: null });
    await expect(fx.client.objectInfo()).rejects.toThrow(`ComfyUI at ${fx.sim.url} answered GET /object_info with null where a JSON object is due`);
    fx.sim.misbehave({ kind: 'json', path: '/queue', body: [1, 2, 3] });
    await expect(fx.client.queue()).rejects.toThrow(/answered GET \/queue with an array where a JSON object is due/);
    fx.sim.misbehave({ kind: 'json', path: '/object_info/CheckpointLoaderSimple', body: { CheckpointLoaderSimple: { input: { required: { ckpt_name: [[{ evil: true }, 7, null, 'anime-v1.safetensors'], {}] } } } } });
    expect(await fx.client.listCheckpoints()).toEqual(['anime-v1.safetensors']);
  });

  it('when /upload/image answers no usable file name (missing, not text, with a NUL or a lone surrogate), then it is a ComfyHttpError saying so, never a name to store', async () => {
    const bytes = Buffer.from('png-bytes');
    for (const body of [{}, { name: 42, subfolder: '', type: 'input' }, { name: 'a\u0000.png', subfolder: '', type: 'input' }, { name: 'b.png', subfolder: 'x\uDC80', type: 'input' }, { name: '' }]) {
      fx.sim.misbehave({ kind: 'post_answer', path: '/upload/image', status: 200, body });
      const error = await fx.client.uploadImage(bytes, 'face.png').catch((e) => e);
      expect(error).toBeInstanceOf(ComfyHttpError);
      expect(error.message).toBe(`ComfyUI at ${fx.sim.url} answered POST /upload/image without a usable file name`);
    }
    // An answer with only a name (older servers' subfolder and type left out) is the file in input/.
    fx.sim.misbehave({ kind: 'post_answer', path: '/upload/image', status: 200, body: { name: 'face.png' } });
    expect(await fx.client.uploadImage(bytes, 'face.png')).toEqual({ name: 'face.png', subfolder: '', type: 'input' });
    fx.sim.misbehave(undefined);
    expect(await fx.client.uploadImage(bytes, 'face.png')).toEqual({ name: 'face.png', subfolder: '', type: 'input' });
  });

  it('when history lists a file twice, then it is one output; when it names one with a NUL, then the run fails saying which node', async () => {
    fx.sim.misbehave({ kind: 'history_images', rewrite: (images) => [...images, ...images, ...images] });
    const twice = await fx.client.run(textToImage({ seed: 1, steps: 1, width: 64, height: 64 }));
    expect(twice.outputs).toHaveLength(1);

    fx.sim.misbehave({ kind: 'history_images', rewrite: (images) => images.map((image) => ({ ...image, filename: `${image.filename}\u0000.png` })) });
    const error = await fx.client.run(textToImage({ seed: 2, steps: 1, width: 64, height: 64 })).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error.message).toMatch(/lists an output of node 9 that names no file it could serve \("img_\d+_\.png\\u0000\.png" in "jobs\/job-0001"\)/);
  });

  it('when the server ignores our prompt_id and reuses one it gave before, then the run waits for its own history entry, not the earlier prompt\'s', async () => {
    fx.sim.misbehave({ kind: 'reuse_prompt_id', promptId: 'the-one-id' });
    const first = await fx.client.run(textToImage({ seed: 5, steps: 1, prefix: 'jobs/first/img' }), { pollIntervalMs: 20 });
    // Still running while the earlier entry sits under the same id: a poll must not take that one.
    const second = await fx.client.run(textToImage({ seed: 6, steps: 300, prefix: 'jobs/second/img' }), { pollIntervalMs: 20 });
    expect(first.promptId).toBe('the-one-id');
    expect(second.promptId).toBe('the-one-id');
    expect(first.outputs.map((o) => o.subfolder)).toEqual(['jobs/first']);
    expect(second.outputs.map((o) => o.subfolder)).toEqual(['jobs/second']);
  });

  it('when a frame of tens of MB comes over the socket, then it is not read: the socket closes and reconnects, and the run still completes', async () => {
    const states: string[] = [];
    const off = fx.client.onConnectionChange((state) => states.push(state));
    fx.sim.misbehave({ kind: 'progress', rewrite: (data) => [{ ...data, pad: 'x'.repeat(40 * MiB) }] });
    const result = await fx.client.run(textToImage({ seed: 4, steps: 2, width: 64, height: 64 }));
    expect(result.outputs).toHaveLength(1);
    // On a busy machine the /history poll may finish the run before the socket has refused the frame.
    await waitUntil(() => states.includes('closed'), 'the socket to close on the oversized frame');
    await waitUntil(() => fx.client.connected, 'the socket to reconnect');
    off();
  });

  it('when progress messages carry text, NaN, max 0, negatives, a value past max, an object as node or a node id with NUL or a lone surrogate, then only the real steps reach onProgress', async () => {
    fx.sim.misbehave({
      kind: 'progress',
      rewrite: (data) => [
        { ...data, value: String(data.value), max: String(data.max) },
        { ...data, value: Number.NaN, max: Number.POSITIVE_INFINITY },
        { ...data, value: 1, max: 0 },
        { ...data, value: -1, max: -1 },
        { ...data, value: data.max + 1 },
        { ...data, node: { evil: true } },
        { ...data, node: 'n'.repeat(10_000) },
        { ...data, node: `${data.node}\u0000` },
        { ...data, node: `${data.node}\uD800` },
        data,
      ],
    });
    await waitUntil(() => fx.client.connected, 'the socket to be connected');
    const ticks: ProgressEvent[] = [];
    await fx.client.run(textToImage({ seed: 3, steps: 3, width: 64, height: 64 }), { onProgress: (tick) => void ticks.push(tick) });
    expect(ticks.map(({ node, value, max }) => ({ node, value, max }))).toEqual([1, 2, 3].map((value) => ({ node: '3', value, max: 3 })));
  });
});

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  for (const started = Date.now(); !condition(); await new Promise((resolve) => setTimeout(resolve, 50))) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}
