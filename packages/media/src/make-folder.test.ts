import { mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { libraryRefusal } from './library-refusal';
import { makeFolder } from './make-folder';

/** What the call settled with within `ms`, or 'still pending'. */
function settledWithin(work: Promise<void>, ms: number): Promise<unknown> {
  return Promise.race([
    work.then(() => 'made', (error: unknown) => error),
    new Promise((resolve) => setTimeout(() => resolve('still pending'), ms).unref()),
  ]);
}

describe('makeFolder', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'make-folder-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('when a folder and its parents are missing, then all are made, and making it again is no error', async () => {
    const folder = path.join(root, 'a', 'b', 'c');
    await makeFolder(folder);
    await makeFolder(folder);
    expect((await stat(folder)).isDirectory()).toBe(true);
  });

  it('when the folder is reached through a link to a folder, then it is made there', async () => {
    await makeFolder(path.join(root, 'real'));
    await symlink(path.join(root, 'real'), path.join(root, 'link'));
    await makeFolder(path.join(root, 'link', 'x'));
    expect((await stat(path.join(root, 'real', 'x'))).isDirectory()).toBe(true);
  });

  it.each([
    ['a file', (at: string) => writeFile(at, 'not a folder')],
    ['a dangling link', (at: string) => symlink(path.join(at, '..', 'nowhere'), at)],
    // Before: ELOOP as it came (no refusal: a 500 on an upload, a filing's tries spent).
    ['a loop of links', (at: string) => symlink(path.basename(at), at)],
    ['a link into a loop of links', async (at: string) => {
      await symlink('loop-b', path.join(at, '..', 'loop-a'));
      await symlink('loop-a', path.join(at, '..', 'loop-b'));
      await symlink('loop-a', at);
    }],
  ])('when %s stands where a folder goes, then it fails with ENOTDIR, which is a refusal of the library', async (_what, put) => {
    const blocked = path.join(root, '.tmp');
    await put(blocked);
    for (const folder of [blocked, path.join(blocked, 'imports', 'u')]) {
      const error = await settledWithin(makeFolder(folder), 2_000);
      expect(error).toMatchObject({ code: 'ENOTDIR' });
      expect(libraryRefusal(error)?.code).toBe('ENOTDIR');
    }
  });

  // Node's recursive mkdir never settled here (mkdir below /proc answers ENOENT under a parent that exists).
  it('when the folder would lie below /proc, then it fails with ENOENT at once rather than never settling', async () => {
    const error = await settledWithin(makeFolder(`/proc/anime-make-folder-${process.pid}/library`), 2_000);
    expect(error).toMatchObject({ code: 'ENOENT' });
    expect(libraryRefusal(error)).toBeNull();
  });
});
