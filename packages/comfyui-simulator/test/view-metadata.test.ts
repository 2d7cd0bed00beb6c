import { startSimulator, type Simulator } from '../src';

/**
 * GET /view_metadata/{folder_name}?filename=…: a .safetensors file's __metadata__ as JSON, else a bare
 * 404 (no filename, another extension, folder_paths.get_full_path finding nothing, no __metadata__).
 * The simulator's models have no files: a known checkpoint or LoRA answers {"format": "pt"}.
 */
describe('GET /view_metadata', () => {
  let sim: Simulator;
  const get = async (path: string) => {
    const response = await fetch(`${sim.url}${path}`);
    return { status: response.status, text: await response.text() };
  };

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
  });

  afterAll(() => sim.close());

  it('when the file is a known model, then its metadata comes back as JSON', async () => {
    expect(await get('/view_metadata/checkpoints?filename=anime-v1.safetensors')).toEqual({ status: 200, text: '{"format": "pt"}' });
    expect((await get('/api/view_metadata/loras?filename=style/inkwash.safetensors')).status).toBe(200);
    // get_full_path normalises the name first: os.path.relpath(os.path.join("/", filename), "/").
    expect((await get('/view_metadata/loras?filename=./style/../style/inkwash.safetensors')).status).toBe(200);
  });

  it.each([
    ['no filename', '/view_metadata/checkpoints'],
    ['another extension', '/view_metadata/checkpoints?filename=anime-v1.ckpt'],
    ['an unknown folder', '/view_metadata/nope?filename=anime-v1.safetensors'],
    ['a folder without that file', '/view_metadata/vae?filename=anime-v1.safetensors'],
    ['an unknown file', '/view_metadata/loras?filename=missing.safetensors'],
  ])('when asking with %s, then it is a bare 404', async (_what, path) => {
    expect(await get(path)).toEqual({ status: 404, text: '' });
  });
});
