import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalLibraryStorage } from './library-storage';

// LocalLibraryStorage.sha256 (an upload's look at the file already at the image's path, a merge
// import's and a reference read-back's checks) read the whole file into one Buffer to hash it:
// its memory grew with the file, whatever its size, and past what one Buffer may hold (readFile's
// 2 GiB) it failed (ERR_FS_FILE_TOO_LARGE). Hashed as a stream, a chunk at a time, memory stays flat.
describe('LocalLibraryStorage.sha256 of a large file', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lib-hash-stream-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('when the file is hundreds of MiB (sparse here), then its sha256 is computed without its size in memory', async () => {
    const file = path.join(root, 'huge.png');
    // 256 MiB of zeros (a hole: no disk used) and 3 bytes.
    const handle = await open(file, 'w');
    await handle.truncate(2 ** 28);
    await handle.write(Buffer.from('end'), 0, 3, 2 ** 28);
    await handle.close();

    const storage = new LocalLibraryStorage(root);
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 10);
    try {
      // `sha256sum` of the file gives the same.
      expect(await storage.sha256('huge.png')).toBe('20e30b133f5d1b053152e8d696c1976e5138dee205b800dd83a9093be2aabab3');
    } finally {
      clearInterval(sampler);
    }
    // Before: the whole file in one Buffer, RSS up by its 256 MiB. Generous: chunks not collected yet add up, never to the file's size.
    expect(rssPeak - rssBefore).toBeLessThan(96 * 1024 * 1024);
  }, 60_000);

  it('when a file of tens of MiB is hashed, then the sha256 is that of its bytes, and a file one byte different hashes otherwise', async () => {
    const bytes = Buffer.alloc(40 * 1024 * 1024 + 13);
    for (let i = 0; i < bytes.length; i += 997) bytes[i] = i % 251;
    await writeFile(path.join(root, 'big.png'), bytes);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(path.join(root, 'big-other.png'), bytes);
    const storage = new LocalLibraryStorage(root);
    expect(await storage.sha256('big-other.png')).toBe(createHash('sha256').update(bytes).digest('hex'));
    bytes[bytes.length - 1] ^= 1;
    expect(await storage.sha256('big.png')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('when there is no file, then null; when a folder stands there, then EISDIR as before', async () => {
    const storage = new LocalLibraryStorage(root);
    expect(await storage.sha256('none.png')).toBeNull();
    await mkdir(path.join(root, 'folder'));
    await expect(storage.sha256('folder')).rejects.toMatchObject({ code: 'EISDIR' });
  });
});
