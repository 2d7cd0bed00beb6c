import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withFileSizeLimit } from '@anime/testing';
import { libraryRefusal } from './library-refusal';
import { LocalLibraryStorage, partialPathFor, UnsafeLibraryPathError } from './library-storage';
import { sha256Hex } from './sha256';

describe('LocalLibraryStorage', () => {
  let root: string;
  let storage: LocalLibraryStorage;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lib-'));
    storage = new LocalLibraryStorage(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('when a file is written, then it reads back with the same sha256 and no temp file is left', async () => {
    const bytes = Buffer.from('hello');
    await storage.write('p/e/s/kai/a.png', bytes);
    expect(await storage.sha256('p/e/s/kai/a.png')).toBe(sha256Hex(bytes));
    expect(await readdir(path.join(root, 'p/e/s/kai'))).toEqual(['a.png']);
  });

  it.each(['../x.png', '/etc/passwd', 'a/../../x', 'a\0b'])('when the path is %j, then it is refused', async (bad) => {
    await expect(storage.write(bad, Buffer.from('x'))).rejects.toBeInstanceOf(UnsafeLibraryPathError);
  });

  it('when a file is missing, then sha256 is null and exists is false', async () => {
    expect(await storage.sha256('none.png')).toBeNull();
    expect(await storage.exists('none.png')).toBe(false);
  });

  it('when a killed write left temp files of a path, then removeLeftovers takes exactly those, not the file nor those of other paths', async () => {
    const folder = path.join(root, 'p/e/s/kai');
    await mkdir(folder, { recursive: true });
    const leftover = partialPathFor(path.join(folder, 'a.png'));
    const ofSidecar = partialPathFor(path.join(folder, 'a.png.json'));
    const ofOther = partialPathFor(path.join(folder, 'b.png'));
    for (const file of [leftover, ofSidecar, ofOther, path.join(folder, 'a.png.notes.partial')]) await writeFile(file, 'half');
    await storage.write('p/e/s/kai/a.png', Buffer.from('whole'));
    expect(await storage.removeLeftovers('p/e/s/kai/a.png')).toEqual([path.relative(root, leftover)]);
    expect((await readdir(folder)).sort()).toEqual(['a.png', 'a.png.notes.partial', path.basename(ofSidecar), path.basename(ofOther)].sort());
    expect(await storage.removeLeftovers('p/e/s/none/x.png')).toEqual([]);
  });

  it('when several files are written together, then each reads back whole, no temp file is left, and leftovers of both go in one call', async () => {
    const folder = path.join(root, 'p/e/s/kai');
    await mkdir(folder, { recursive: true });
    const leftovers = [partialPathFor(path.join(folder, 'a.png')), partialPathFor(path.join(folder, 'a.png.json'))];
    for (const file of leftovers) await writeFile(file, 'half');
    await storage.writeAll([{ path: 'p/e/s/kai/a.png', bytes: Buffer.from('image') }, { path: 'p/e/s/kai/a.png.json', bytes: Buffer.from('{}') }]);
    expect(await storage.sha256('p/e/s/kai/a.png')).toBe(sha256Hex(Buffer.from('image')));
    expect(await storage.sha256('p/e/s/kai/a.png.json')).toBe(sha256Hex(Buffer.from('{}')));
    expect((await storage.removeLeftovers('p/e/s/kai/a.png', 'p/e/s/kai/a.png.json')).sort()).toEqual(leftovers.map((f) => path.relative(root, f)).sort());
    expect((await readdir(folder)).sort()).toEqual(['a.png', 'a.png.json']);
  });

  it('when a folder written to before is removed under the storage, then the next write makes it again', async () => {
    await storage.writeAll([{ path: 'p/e/s/kai/a.png', bytes: Buffer.from('image') }, { path: 'p/e/s/kai/a.png.json', bytes: Buffer.from('{}') }]);
    await rm(path.join(root, 'p'), { recursive: true });
    await storage.writeAll([{ path: 'p/e/s/kai/b.png', bytes: Buffer.from('image') }, { path: 'p/e/s/kai/b.png.json', bytes: Buffer.from('{}') }]);
    expect((await readdir(path.join(root, 'p/e/s/kai'))).sort()).toEqual(['b.png', 'b.png.json']);
    await rm(path.join(root, 'p/e/s/kai'), { recursive: true });
    await storage.write('p/e/s/kai/c.png', Buffer.from('image'));
    expect(await readdir(path.join(root, 'p/e/s/kai'))).toEqual(['c.png']);
  });

  it('when a file of several MB is written, then it reads back whole', async () => {
    const bytes = Buffer.alloc(5 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
    await storage.writeAll([{ path: 'p/e/s/kai/big.png', bytes }]);
    expect(await storage.sha256('p/e/s/kai/big.png')).toBe(sha256Hex(bytes));
  });

  it('when the disk refuses a write half-way (over a file-size limit), then it fails as a library refusal and leaves no temp file holding what landed', async () => {
    await storage.write('p/e/s/kai/kept.png', Buffer.from('kept'));
    const bytes = Buffer.alloc(64 * 1024, 7);
    const error = await withFileSizeLimit(8 * 1024, () => storage.writeAll([{ path: 'p/e/s/kai/a.png', bytes }, { path: 'p/e/s/kai/a.png.json', bytes: Buffer.from('{}') }]).catch((e: unknown) => e));
    expect(libraryRefusal(error)?.code).toBe('EFBIG');
    // Its write (by descriptor) named no path, as a socket's would not: the file's is given.
    expect(error).toMatchObject({ syscall: 'write', path: expect.stringMatching(/a\.png\.[0-9a-f]{12}\.partial$/) });
    expect(await readdir(path.join(root, 'p/e/s/kai'))).toEqual(['kept.png']);
    await storage.write('p/e/s/kai/b.png', Buffer.from('b'));
    await expect(withFileSizeLimit(4 * 1024, () => storage.write('p/e/s/kai/b.png', bytes))).rejects.toMatchObject({ code: 'EFBIG' });
    expect((await readdir(path.join(root, 'p/e/s/kai'))).sort()).toEqual(['b.png', 'kept.png']);
    expect(await storage.sha256('p/e/s/kai/b.png')).toBe(sha256Hex(Buffer.from('b')));
  });

  it('when a file or a dangling link stands where a folder of the path goes, then remove and removeLeftovers find nothing to remove (a canceled filing blocked there spent every try on ENOTDIR)', async () => {
    await mkdir(path.join(root, 'p/e'), { recursive: true });
    await writeFile(path.join(root, 'p/e/s'), 'a file, not a folder');
    await symlink(path.join(root, 'nowhere'), path.join(root, 'p/e/t'));
    for (const blocked of ['p/e/s/kai/a.png', 'p/e/t/kai/a.png']) {
      await expect(storage.remove(blocked)).resolves.toBeUndefined();
      await expect(storage.removeLeftovers(blocked, `${blocked}.json`)).resolves.toEqual([]);
    }
    // Other errors still fail: a path outside the library.
    await expect(storage.remove('../outside.png')).rejects.toBeInstanceOf(UnsafeLibraryPathError);
  });
});
