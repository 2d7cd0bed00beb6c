import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src';

/**
 * The temp folder a caller gives is emptied at start and at close (ComfyUI's cleanup_temp). One that is,
 * or holds, the caller's output or input folder is refused before anything is removed, not emptied with
 * the caller's files in it. (Nor the OS temp folder, the current or the home directory: not tried here,
 * as the code before this check would have emptied them.)
 */
describe('a temp folder that holds what the caller keeps', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'sim-temp-guard-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('when tempDir is the parent of the output folder, or the input folder itself, then the start is refused and their files stay', async () => {
    const outputDir = join(root, 'output');
    const inputDir = join(root, 'input');
    mkdirSync(outputDir);
    mkdirSync(inputDir);
    writeFileSync(join(outputDir, 'kept.png'), 'x');
    writeFileSync(join(inputDir, 'reference.png'), 'x');

    await expect(startSimulator({ tempDir: root, outputDir, inputDir, stepMs: 1 })).rejects.toThrow(/holds the output folder/);
    await expect(startSimulator({ tempDir: inputDir, inputDir, outputDir, stepMs: 1 })).rejects.toThrow(/holds the input folder/);
    expect([readdirSync(outputDir), readdirSync(inputDir)]).toEqual([['kept.png'], ['reference.png']]);
  });

  it('when the output folder inside tempDir has a name beginning with two dots, then the start is refused too and its files stay', async () => {
    // Before: relative(tempDir, output) was "..output", taken for a path leading out of tempDir, and the folder was emptied.
    const outputDir = join(root, '..output');
    mkdirSync(outputDir);
    writeFileSync(join(outputDir, 'kept.png'), 'x');

    await expect(startSimulator({ tempDir: root, outputDir, stepMs: 1 })).rejects.toThrow(/holds the output folder/);
    expect(readdirSync(outputDir)).toEqual(['kept.png']);
  });

  it('when tempDir is a folder of its own beside them, then it is emptied as before', async () => {
    const tempDir = join(root, 'temp');
    mkdirSync(tempDir);
    writeFileSync(join(tempDir, 'left-over.png'), 'x');
    const sim = await startSimulator({ tempDir, outputDir: join(root, 'output'), stepMs: 1 });
    await sim.close();
    expect([existsSync(tempDir) && readdirSync(tempDir), existsSync(join(root, 'output'))]).toEqual([[], true]);
  });
});
