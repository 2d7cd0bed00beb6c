import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src';
import { postJson, waitForHistory } from './helpers/http';

const previewPrompt = {
  '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 255 } },
  '2': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
};

/**
 * main.cleanup_temp: ComfyUI removes its temp folder when it starts and when it exits, so the
 * PreviewImage files (type "temp") a history listed are gone once it restarted, and /view answers 404.
 */
describe('the temp folder across a restart', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'sim-temp-restart-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('when the simulator starts on a temp folder holding files, then they are gone', async () => {
    const tempDir = join(root, 'start');
    const outputDir = join(root, 'start-output');
    const sim = await startSimulator({ tempDir, outputDir, stepMs: 1 });
    try {
      writeFileSync(join(tempDir, 'left-over.png'), 'x');
      await sim.close();
      // Closing empties it too (ComfyUI's exit); the folders of saved outputs stay.
      expect(readdirSync(tempDir)).toEqual([]);
      expect(existsSync(outputDir)).toBe(true);
      writeFileSync(join(tempDir, 'left-over.png'), 'x');
      const again = await startSimulator({ tempDir, outputDir, stepMs: 1 });
      expect(readdirSync(tempDir)).toEqual([]);
      await again.close();
    } finally {
      await sim.close();
    }
  });

  it('when a preview was made before a restart on the same folders, then /view of it answers 404 while saved outputs stay', async () => {
    const dirs = { tempDir: join(root, 'temp'), outputDir: join(root, 'output'), inputDir: join(root, 'input') };
    const before = await startSimulator({ ...dirs, stepMs: 1 });
    const response = await postJson(before.url, '/prompt', { prompt: previewPrompt });
    const entry = await waitForHistory(before.url, response.json.prompt_id);
    const [image] = entry.outputs['2'].images;
    expect(image.type).toBe('temp');
    const query = `filename=${encodeURIComponent(image.filename)}&subfolder=${encodeURIComponent(image.subfolder)}&type=temp`;
    expect((await fetch(`${before.url}/view?${query}`)).status).toBe(200);
    writeFileSync(join(dirs.outputDir, 'kept.png'), 'x');
    await before.close();

    const after = await startSimulator({ ...dirs, stepMs: 1 });
    try {
      expect((await fetch(`${after.url}/view?${query}`)).status).toBe(404);
      expect((await fetch(`${after.url}/view?filename=kept.png&type=output`)).status).toBe(200);
      expect(await (await fetch(`${after.url}/history`)).json()).toEqual({});
    } finally {
      await after.close();
    }
  });
});
