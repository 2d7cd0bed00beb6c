import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMFYUI_VERSIONS, readPngText, startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { waitFor } from '@anime/testing';
import { ComfyClient, ComfyHttpError } from '../src';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// Against both real ComfyUI versions the simulator stands in for (they differ in empty-body Content-Type,
// extra_data.create_time and the order of a cached output's replay; the client must not depend on those).
describe.each(COMFYUI_VERSIONS)('ComfyClient files and introspection (simulating ComfyUI %s)', (comfyuiVersion) => {
  let sim: Simulator;
  let client: ComfyClient;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1, comfyuiVersion });
    client = new ComfyClient({ baseUrl: `${sim.url}/` });
    await client.connect();
  });

  afterAll(async () => {
    client.close();
    await sim.close();
  });

  it('when an output is viewed, then the bytes equal the file ComfyUI wrote', async () => {
    const { outputs } = await client.run(textToImage({ prefix: 'jobs/view/img' }), { extraData: { extra_pnginfo: { job: { id: 'j1' } } } });
    const bytes = await client.view(outputs[0]);
    expect(sha256(bytes)).toBe(sha256(readFileSync(join(sim.outputDir, outputs[0].subfolder, outputs[0].filename))));
    expect(JSON.parse(readPngText(bytes).job)).toEqual({ id: 'j1' });
  });

  it('when a file is missing, then view throws ComfyHttpError with the 404', async () => {
    const error = await client.view({ filename: 'missing.png' }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error.status).toBe(404);
  });

  it('when a temp file is gone (ComfyUI clears temp/ when it restarts), then the error names the file, not only the route', async () => {
    const error = await client.view({ filename: 'ComfyUI_temp_abcde_00001_.png', subfolder: 'jobs/j2', type: 'temp' }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect(error.message).toBe('ComfyUI answered 404 to GET /view (temp file "jobs/j2/ComfyUI_temp_abcde_00001_.png")');
  });

  it('when images are uploaded, then identical bytes keep the name, different bytes are renamed, and LoadImage can use them', async () => {
    const bytes = readFileSync(join(sim.outputDir, sim.received.length ? 'jobs/view' : '', 'img_00001_.png'));
    expect(await client.uploadImage(bytes, 'face.png', { subfolder: 'refs' })).toEqual({ name: 'face.png', subfolder: 'refs', type: 'input' });
    expect((await client.uploadImage(bytes, 'face.png', { subfolder: 'refs' })).name).toBe('face.png');
    const renamed = await client.uploadImage(Buffer.from('other bytes'), 'face.png', { subfolder: 'refs' });
    expect(renamed.name).toBe('face (1).png');
    expect((await client.uploadImage(Buffer.from('third'), 'face.png', { subfolder: 'refs', overwrite: true })).name).toBe('face.png');
    expect(sim.uploads.at(-1)).toMatchObject({ name: 'face.png', subfolder: 'refs', sha256: sha256(Buffer.from('third')) });

    const uploaded = await client.uploadImage(bytes, 'ref.png');
    const result = await client.run({
      '1': { class_type: 'LoadImage', inputs: { image: uploaded.name } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'refcopy' } },
    });
    expect(result.outputs[0].filename).toBe('refcopy_00001_.png');
  });

  it('when asking about models and nodes, then checkpoints, combo options and object info come back', async () => {
    expect(await client.listCheckpoints()).toEqual(['anime-v1.safetensors', 'sd_xl_base_1.0.safetensors']);
    expect(await client.comboOptions('LoraLoader', 'lora_name')).toEqual(['style/inkwash.safetensors', 'kai-nakamura.safetensors']);
    expect(Object.keys(await client.objectInfo())).toContain('KSampler');
    expect(await client.objectInfo('NoSuchNode')).toEqual({});
    // The simulator reports the captured server's one device: a CPU (01_get_system_stats.json).
    expect((await client.systemStats()).devices[0].type).toBe('cpu');
  });

  it('when asking about the queue, then running and pending prompts are listed by id', async () => {
    // Long enough (5,000 steps of 1 ms, interrupted below) to still run when the queue is read on a loaded machine.
    const first = await client.submit(textToImage({ seed: 200, steps: 5_000 }));
    const second = await client.submit(textToImage({ seed: 201 }));
    // Taken by ComfyUI's worker a moment after it was queued.
    const queue = await waitFor(async () => {
      const now = await client.queue();
      return now.running.length ? now : null;
    }, 'the first prompt to run', 5_000, 25);
    expect(queue.running.map((e) => e.promptId)).toEqual([first.promptId]);
    expect(queue.pending.map((e) => e.promptId)).toEqual([second.promptId]);
    expect(queue.pending[0].outputsToExecute).toEqual(['9']);
    expect(await client.queueRemaining()).toBe(2);
    await client.deleteFromQueue([second.promptId]);
    await client.interrupt();
    await client.follow(first.promptId).catch(() => undefined);
    expect(await client.queueRemaining()).toBe(0);
  });
});
