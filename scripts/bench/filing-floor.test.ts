import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filedSizes, filingFloor } from './filing-floor';

describe('filing floor (the bench baseline of an image and its sidecar written as the file-organizer writes them)', () => {
  let library: string;

  beforeEach(async () => {
    library = await mkdtemp(path.join(tmpdir(), 'filing-floor-'));
  });

  afterEach(async () => {
    await rm(library, { recursive: true, force: true });
  });

  it('when it writes, then it measures CPU per filing and leaves each image and its sidecar in its folder, whole, with no temp file', async () => {
    const floor = await filingFloor({ folder: library, count: 20, imageBytes: 4096, sidecarBytes: 1500 });
    expect(floor).toMatchObject({ filings: 20, imageBytes: 4096, sidecarBytes: 1500 });
    expect(floor.cpuMsPerFiling).toBeGreaterThan(0);
    const files = (await readdir(path.join(library, 'floor'))).sort();
    expect(files).toHaveLength(40);
    expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(20);
    expect((await stat(path.join(library, 'floor', 'floor-7.png'))).size).toBe(4096);
    expect((await stat(path.join(library, 'floor', 'floor-7.png.json'))).size).toBe(1500);
  });

  it('when the pipeline filed an image, then its sizes and its sidecar\'s are the ones the floor writes; none filed, none', async () => {
    expect(await filedSizes(library)).toBeNull();
    await mkdir(path.join(library, 'demo', 'ep01'), { recursive: true });
    await writeFile(path.join(library, 'demo', 'ep01', 'kai_01.png'), Buffer.alloc(3000));
    await writeFile(path.join(library, 'demo', 'ep01', 'kai_01.png.json'), Buffer.alloc(700));
    expect(await filedSizes(library)).toEqual({ imageBytes: 3000, sidecarBytes: 700 });
  });
});
