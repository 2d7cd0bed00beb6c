import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { filedSizes, filingFloor, FILING_FLOOR_FOLDER } from './filing-floor';

describe('filing floor (the bench baseline of an image and its sidecar written as the file-organizer writes them)', () => {
  let library: string;

  beforeEach(async () => {
    library = await mkdtemp(path.join(tmpdir(), 'filing-floor-'));
  });

  afterEach(async () => {
    await rm(library, { recursive: true, force: true });
  });

  it('when it writes, then it measures CPU per filing and leaves the library as it found it', async () => {
    await mkdir(path.join(library, 'demo'));
    await writeFile(path.join(library, 'demo', 'kept.png'), 'filed before');
    const floor = await filingFloor({ libraryDir: library, count: 20, imageBytes: 4096, sidecarBytes: 1500 });
    expect(floor).toMatchObject({ filings: 20, imageBytes: 4096, sidecarBytes: 1500 });
    expect(floor.cpuMsPerFiling).toBeGreaterThan(0);
    expect(await readdir(library, { recursive: true })).toEqual(['demo', path.join('demo', 'kept.png')]);
  });

  it('when the pipeline filed an image, then its sizes and its sidecar\'s are the ones the floor writes; none filed, none', async () => {
    expect(await filedSizes(library)).toBeNull();
    await mkdir(path.join(library, 'demo', 'ep01'), { recursive: true });
    await writeFile(path.join(library, 'demo', 'ep01', 'kai_01.png'), Buffer.alloc(3000));
    await writeFile(path.join(library, 'demo', 'ep01', 'kai_01.png.json'), Buffer.alloc(700));
    await mkdir(path.join(library, FILING_FLOOR_FOLDER));
    expect(await filedSizes(library)).toEqual({ imageBytes: 3000, sidecarBytes: 700 });
  });
});
