import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { libraryRefusal } from './library-refusal';
import { LocalLibraryStorage } from './library-storage';
import { sha256Hex } from './sha256';

/**
 * A folder the storage already made (and remembers as made) is replaced behind its back: the
 * write's thread makes it again, and what stands there now decides the answer, as for a folder made
 * the first time (makeFolder): a dangling link or a file is a library refusal (ENOTDIR), not a bug.
 */
describe('LocalLibraryStorage, a folder it made replaced since', () => {
  let root: string;
  let storage: LocalLibraryStorage;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lib-replaced-'));
    storage = new LocalLibraryStorage(root);
    await storage.write('p/e/kai/a.png', Buffer.from('a'));
    await rm(path.join(root, 'p/e'), { recursive: true });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('when a dangling link stands where it was, then write and writeAll fail as a library refusal (ENOTDIR), and write again once the link is gone', async () => {
    await symlink(path.join(root, 'nowhere'), path.join(root, 'p/e'));
    // Before: the thread's recursive mkdir answered ENOENT, a 500 on an upload and a filing's tries spent.
    const written = await storage.write('p/e/kai/b.png', Buffer.from('b')).catch((error: unknown) => error);
    expect(libraryRefusal(written)?.code).toBe('ENOTDIR');
    const all = await storage.writeAll([{ path: 'p/e/kai/c.png', bytes: Buffer.from('c') }]).catch((error: unknown) => error);
    expect(libraryRefusal(all)?.code).toBe('ENOTDIR');
    expect(await readdir(path.join(root, 'p'))).toEqual(['e']);

    await rm(path.join(root, 'p/e'));
    await storage.write('p/e/kai/b.png', Buffer.from('b'));
    expect(await storage.sha256('p/e/kai/b.png')).toBe(sha256Hex(Buffer.from('b')));
  });

  it('when a file stands where it was, then the write fails as a library refusal (ENOTDIR)', async () => {
    await writeFile(path.join(root, 'p/e'), 'not a folder');
    const written = await storage.write('p/e/kai/b.png', Buffer.from('b')).catch((error: unknown) => error);
    expect(libraryRefusal(written)?.code).toBe('ENOTDIR');
  });

  it('when a loop of links stands where it was, then write and writeAll fail as a library refusal (ENOTDIR), and write again once the link is gone', async () => {
    await symlink('e', path.join(root, 'p/e'));
    // Before: the thread's open answered ELOOP, no refusal (a 500 on an upload, a filing's tries spent).
    const written = await storage.write('p/e/kai/b.png', Buffer.from('b')).catch((error: unknown) => error);
    expect(libraryRefusal(written)?.code).toBe('ENOTDIR');
    expect(String((written as Error).message)).toContain('a loop of links');
    const all = await storage.writeAll([{ path: 'p/e/kai/c.png', bytes: Buffer.from('c') }]).catch((error: unknown) => error);
    expect(libraryRefusal(all)?.code).toBe('ENOTDIR');

    await rm(path.join(root, 'p/e'));
    await storage.write('p/e/kai/b.png', Buffer.from('b'));
    expect(await storage.sha256('p/e/kai/b.png')).toBe(sha256Hex(Buffer.from('b')));
  });

  it('when it is simply gone, then the write makes it again', async () => {
    await storage.write('p/e/kai/b.png', Buffer.from('b'));
    expect(await storage.sha256('p/e/kai/b.png')).toBe(sha256Hex(Buffer.from('b')));
  });
});
