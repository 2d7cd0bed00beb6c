import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prepareLibraryDir } from './library-dir';

const refusal = (dir: string) =>
  prepareLibraryDir(dir).then(
    () => null,
    (error: Error) => error,
  );

describe('prepareLibraryDir', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'library-dir-'));
  });
  afterAll(async () => {
    await chmod(scratch, 0o700);
    await rm(scratch, { recursive: true, force: true });
  });

  it('when the directory does not exist yet, then it is created, and the write probe leaves nothing behind', async () => {
    const dir = path.join(scratch, 'new', 'library');
    await prepareLibraryDir(dir);
    expect(await readdir(dir)).toEqual([]);
  });

  it('when a file stands where the directory (or one of its parents) should be, then it fails naming LIBRARY_DIR, not the path', async () => {
    const file = path.join(scratch, 'a-file');
    await writeFile(file, 'not a directory');
    for (const dir of [file, path.join(file, 'library')]) {
      const error = await refusal(dir);
      expect(error?.message).toMatch(/^LIBRARY_DIR: cannot create the library directory \((EEXIST|ENOTDIR)\)/);
      expect(error?.message).not.toContain(scratch);
    }
  });

  it('when the directory would lie below /proc, then it fails naming LIBRARY_DIR at once, rather than never settling', async () => {
    const dir = `/proc/library-dir-${process.pid}/library`;
    const pending = new Promise((resolve) => setTimeout(() => resolve('still pending'), 2_000).unref());
    const error = await Promise.race([refusal(dir), pending]);
    expect((error as Error | null)?.message).toBe('LIBRARY_DIR: cannot create the library directory (ENOENT)');
  });

  it('when the directory exists but cannot be written, then it fails naming LIBRARY_DIR, not the path', async () => {
    // root writes through mode bits; /proc/self is a directory no one can create files in.
    const dir = process.getuid?.() === 0 ? '/proc/self' : path.join(scratch, 'read-only');
    if (dir !== '/proc/self') {
      await prepareLibraryDir(dir);
      await chmod(dir, 0o555);
    }
    const error = await refusal(dir);
    expect(error?.message).toMatch(/^LIBRARY_DIR: the library directory is not writable \(E[A-Z]+\)/);
    expect(error?.message).not.toContain(dir);
  });
});
