import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { partialPathFor } from './library-storage';
import { PARTIAL_GRACE_MS, removeStalePartials } from './remove-stale-partials';

describe('removeStalePartials', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lib-partials-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const put = async (relative: string, ageMs: number) => {
    const absolute = path.join(root, relative);
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, 'x');
    const when = new Date(Date.now() - ageMs);
    await utimes(absolute, when, when);
    return relative;
  };
  const files = async () => (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort();

  it('when a write died before its rename, then its temp file older than the grace is removed, in any folder', async () => {
    const stale = await put(path.relative(root, partialPathFor(path.join(root, 'demo/ep01/sc001/kai/kai_v1_job_00.png'))), PARTIAL_GRACE_MS + 60_000);
    const staleTop = await put('ref.png.0123456789ab.partial', 24 * 3600_000);
    expect((await removeStalePartials(root)).sort()).toEqual([staleTop, stale].sort());
    expect(await files()).toEqual([]);
  });

  it('when a temp file is younger than the grace (another process may be writing it), then it stays', async () => {
    const fresh = await put('demo/a.png.abcdef012345.partial', 5_000);
    expect(await removeStalePartials(root)).toEqual([]);
    expect(await files()).toEqual([fresh]);
  });

  it('when files only look alike (library files, other .partial names), then they stay, however old', async () => {
    const kept = [
      await put('demo/a.png', PARTIAL_GRACE_MS * 10),
      await put('demo/a.png.json', PARTIAL_GRACE_MS * 10),
      await put('demo/notes.partial', PARTIAL_GRACE_MS * 10),
      await put('demo/a.png.XYZ.partial', PARTIAL_GRACE_MS * 10),
    ];
    expect(await removeStalePartials(root)).toEqual([]);
    expect(await files()).toEqual(kept.sort());
  });

  it('when the grace is zero (a single writer that knows it is alone), then every temp file goes', async () => {
    await put('demo/a.png.abcdef012345.partial', 1_000);
    expect(await removeStalePartials(root, { graceMs: 0 })).toEqual(['demo/a.png.abcdef012345.partial']);
  });

  it('when the library does not exist yet, then there is nothing to remove', async () => {
    expect(await removeStalePartials(path.join(root, 'missing'))).toEqual([]);
  });
});
