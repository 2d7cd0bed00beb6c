import { lstat, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
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

  it('when links point out of the library or are named like temp files, then they are neither followed nor removed', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'lib-partials-outside-'));
    try {
      const target = path.join(outside, 'a.png.abcdef012345.partial');
      await writeFile(target, 'x');
      const when = new Date(Date.now() - PARTIAL_GRACE_MS * 10);
      await utimes(target, when, when);
      await symlink(outside, path.join(root, 'linked-folder'));
      await symlink(target, path.join(root, 'b.png.abcdef012345.partial'));
      expect(await removeStalePartials(root)).toEqual([]);
      expect((await lstat(path.join(root, 'b.png.abcdef012345.partial'))).isSymbolicLink()).toBe(true);
      expect(await readdir(outside)).toEqual(['a.png.abcdef012345.partial']);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('when a temp file or whole folders go while the sweep walks (its writer, another replica), then the sweep goes on past them', async () => {
    for (const folder of ['a', 'b/deep', 'c/deeper/still']) await put(`${folder}/x.png.00000000000a.partial`, PARTIAL_GRACE_MS * 2);
    const calls: string[] = [];
    const removed = await removeStalePartials(root, {
      // At its first removal, the file is renamed by its writer and the other folders (not walked
      // yet) are removed by someone else.
      beforeRemove: async (relative) => {
        if (calls.push(relative) > 1) return;
        const walking = relative.split(path.sep)[0];
        await rm(path.join(root, relative));
        for (const folder of ['a', 'b', 'c']) if (folder !== walking) await rm(path.join(root, folder), { recursive: true });
      },
    });
    expect(calls).toHaveLength(1);
    expect(removed).toEqual([]);
    expect(await files()).toEqual([]);
  });

  it('when the sweep is aborted, then it stops there and removes nothing more', async () => {
    for (const folder of ['a', 'b', 'c']) await put(`${folder}/x.png.00000000000a.partial`, PARTIAL_GRACE_MS * 2);
    const controller = new AbortController();
    const seen: string[] = [];
    const removed = await removeStalePartials(root, {
      signal: controller.signal,
      beforeRemove: (relative) => {
        // Aborted just before its second removal: that one and the third stay.
        if (seen.push(relative) === 2) controller.abort();
      },
    });
    expect(removed).toEqual(seen.slice(0, 1));
    expect(await files()).toHaveLength(2);
  });
});
