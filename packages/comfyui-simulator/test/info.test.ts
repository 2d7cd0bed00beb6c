import { startSimulator, type Simulator } from '../src';
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
    expect(shapeOf(await getJson(sim.url, '/system_stats'))).toEqual(shapeOf({ ...capture('01_get_system_stats.json').json, devices: [{ ...capture('01_get_system_stats.json').json.devices[0], index: 0 }] }));
    expect(await getJson(sim.url, '/features')).toEqual(capture('01_get_features.json').json);
    expect(await getJson(sim.url, '/queue')).toEqual(capture('01_get_queue_before.json').json);
    expect(await getJson(sim.url, '/prompt')).toEqual(capture('01_get_prompt_get_before.json').json);
  });

  it('when a socket connects without a clientId, then it is given a hex sid; a first feature_flags message is answered', async () => {
    const ws = await WsRecorder.connect(sim.url);
    expect(ws.messages[0].data.sid).toMatch(/^[0-9a-f]{32}$/);
    ws.send({ type: 'feature_flags', data: { supports_preview_metadata: true } });
    const reply = await ws.waitFor((m) => m.type === 'feature_flags');
    expect(reply.data).toMatchObject({ supports_preview_metadata: true, max_upload_size: 104857600 });
    ws.close();
  });

  it('when a route is unknown, then it is a 404; a wrong method is a 405', async () => {
    expect((await fetch(`${sim.url}/nope`)).status).toBe(404);
    expect((await fetch(`${sim.url}/queue`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${sim.url}/history/%E0%A4%A`)).status).toBe(400);
  });
});
