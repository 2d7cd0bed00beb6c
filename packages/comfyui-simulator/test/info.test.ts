import { emptyImageProbe, startSimulator, type Simulator } from '../src';
import { capture, shapeOf } from './helpers/captures';
import { getJson } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

describe('introspection routes and the socket handshake', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ checkpoints: Array.from({ length: 25 }, (_, i) => `ckpt-${i}.safetensors`) });
  });

  afterAll(() => sim.close());

  it('when asking for EmptyImage and SaveImage, then the entries equal the captured ones', async () => {
    expect(await getJson(sim.url, '/object_info/EmptyImage')).toEqual(capture('01_get_object_info_EmptyImage.json').json);
    expect(await getJson(sim.url, '/api/object_info/SaveImage')).toEqual(capture('01_get_object_info_SaveImage.json').json);
    expect(await getJson(sim.url, '/object_info/NoSuchNode')).toEqual({});
  });

  it('when listing all nodes, then the ten simulated classes are there with legacy combo lists', async () => {
    const info = await getJson(sim.url, '/object_info');
    expect(Object.keys(info).sort()).toEqual(
      ['CLIPTextEncode', 'CheckpointLoaderSimple', 'EmptyImage', 'EmptyLatentImage', 'KSampler', 'LoadImage', 'LoraLoader', 'PreviewImage', 'SaveImage', 'VAEDecode'].sort(),
    );
    expect(info.CheckpointLoaderSimple.input.required.ckpt_name[0]).toHaveLength(25);
    expect(info.LoraLoader.input.required.lora_name[0]).toEqual(['style/inkwash.safetensors', 'kai-nakamura.safetensors']);
    expect(info.KSampler.input.required.scheduler[0]).toContain('karras');
    expect(info.KSampler.output).toEqual(['LATENT']);
  });

  it('when asking for models, then folders list and unknown folders are 404', async () => {
    expect(await getJson(sim.url, '/models')).toContain('checkpoints');
    expect(await getJson(sim.url, '/models/loras')).toEqual(['style/inkwash.safetensors', 'kai-nakamura.safetensors']);
    expect((await fetch(`${sim.url}/models/nope`)).status).toBe(404);
    expect(await getJson(sim.url, '/embeddings')).toEqual([]);
  });

  it('when asking for system stats and features, then the shapes match the captures', async () => {
    expect(shapeOf(await getJson(sim.url, '/system_stats'))).toEqual(shapeOf(capture('01_get_system_stats.json').json));
    expect(await getJson(sim.url, '/features')).toEqual(capture('01_get_features.json').json);
    expect(await getJson(sim.url, '/queue')).toEqual(capture('01_get_queue_before.json').json);
    expect(await getJson(sim.url, '/prompt')).toEqual(capture('01_get_prompt_get_before.json').json);
  });

  it('when asking for system stats, then it is a 0.3.64 by default, and the other version strings and the one CPU device are those of the captured server', async () => {
    // 01_get_system_stats.json: the real server (ComfyUI 0.8.0, run with --cpu) reports one CPU device with no index,
    // whose "VRAM" figures are the machine's RAM ones. The default profile is 0.3.64 (the server issue 14 reports
    // against), which says so in comfyui_version; server-profile.test.ts states both profiles.
    const real = capture('01_get_system_stats.json').json;
    const stats = await getJson(sim.url, '/system_stats');
    expect(stats.system.comfyui_version).toBe('0.3.64');
    const versions = ['required_frontend_version', 'installed_templates_version', 'required_templates_version', 'python_version', 'pytorch_version', 'embedded_python'];
    for (const key of versions) expect([key, stats.system[key]]).toEqual([key, real.system[key]]);
    expect(stats.system.argv).toContain('--cpu');
    expect(stats.devices).toEqual([
      {
        name: 'cpu',
        type: 'cpu',
        index: null,
        vram_total: stats.system.ram_total,
        vram_free: stats.devices[0].vram_free,
        torch_vram_total: stats.system.ram_total,
        torch_vram_free: stats.devices[0].vram_free,
      },
    ]);
    expect(Object.keys(stats.devices[0])).toEqual(Object.keys(real.devices[0]));
    expect(stats.devices[0].torch_vram_free).toBe(stats.devices[0].vram_free);
  });

  it('when a socket connects without a clientId, then it is given a hex sid; a first feature_flags message is answered', async () => {
    const ws = await WsRecorder.connect(sim.url);
    expect(ws.messages[0].data.sid).toMatch(/^[0-9a-f]{32}$/);
    ws.send({ type: 'feature_flags', data: { supports_preview_metadata: true } });
    const reply = await ws.waitFor((m) => m.type === 'feature_flags');
    expect(reply.data).toMatchObject({ supports_preview_metadata: true, max_upload_size: 104857600 });
    ws.close();
  });

  it('when the first messages a socket sends are JSON but not objects, then they do not use up its feature_flags negotiation', async () => {
    // server.py: `data.get("type")` raises on them inside the try, before `first_message = False`.
    const ws = await WsRecorder.connect(sim.url);
    ws.send('not an object');
    ws.send([1, 2]);
    ws.send({ type: 'feature_flags', data: { supports_preview_metadata: true } });
    const reply = await ws.waitFor((m) => m.type === 'feature_flags', 2_000);
    expect(reply.data).toMatchObject({ supports_preview_metadata: true });
    ws.close();
  });

  it('when a socket replaced under the same clientId closes late, then, as in server.py, its successor is unregistered and hears nothing', async () => {
    const observer = await WsRecorder.connect(sim.url);
    const replaced = await WsRecorder.connect(sim.url, 'same-id');
    const successor = await WsRecorder.connect(sim.url, 'same-id');
    replaced.close();
    await new Promise((r) => setTimeout(r, 100));
    const [seenBefore, heardBefore] = [observer.messages.length, successor.messages.length];
    const posted = await fetch(`${sim.url}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: emptyImageProbe('late-close'), client_id: 'same-id' }) });
    const { prompt_id } = (await posted.json()) as { prompt_id: string };
    await observer.waitFor((m) => m.type === 'status', 15_000, seenBefore);
    await new Promise((r) => setTimeout(r, 200));
    expect(successor.messages.length).toBe(heardBefore);
    expect(successor.messages.filter((m) => m.data?.prompt_id === prompt_id)).toEqual([]);
    observer.close();
    successor.close();
  });

  it('when a route is unknown, then it is a 404; a wrong method is a 405', async () => {
    expect((await fetch(`${sim.url}/nope`)).status).toBe(404);
    expect((await fetch(`${sim.url}/queue`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${sim.url}/history/%E0%A4%A`)).status).toBe(400);
  });
});
