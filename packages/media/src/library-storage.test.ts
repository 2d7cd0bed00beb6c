import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalLibraryStorage, UnsafeLibraryPathError } from './library-storage';
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
});
