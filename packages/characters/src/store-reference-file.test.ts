import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalLibraryStorage, sha256Hex } from '@anime/media';
import { pngHeader } from '@anime/testing';
import { storeReferenceFile } from './store-reference-file';

let library: string;
let storage: LocalLibraryStorage;

beforeEach(async () => {
  library = await mkdtemp(path.join(tmpdir(), 'characters-store-'));
  storage = new LocalLibraryStorage(library);
});

afterEach(() => rm(library, { recursive: true, force: true }));

describe('storeReferenceFile', () => {
  it('when the bytes are new, then they are written under the content-addressed path and the facts come from the bytes', async () => {
    const bytes = pngHeader(640, 480);
    const sha256 = sha256Hex(bytes);
    const stored = await storeReferenceFile(storage, { bytes, characterSlug: 'kai-nakamura', label: 'Front Face!' });
    expect(stored).toEqual({
      path: `references/kai-nakamura/${sha256.slice(0, 8)}-front-face.png`,
      sha256,
      bytes: bytes.length,
      width: 640,
      height: 480,
      mime: 'image/png',
      isNew: true,
    });
    expect(await readFile(path.join(library, stored.path))).toEqual(bytes);
  });

  it('when the same bytes are stored again, then the file is not rewritten and isNew is false', async () => {
    const bytes = pngHeader(8, 8);
    const first = await storeReferenceFile(storage, { bytes, characterSlug: 'kai', label: 'a' });
    const before = await stat(path.join(library, first.path));
    const again = await storeReferenceFile(storage, { bytes, characterSlug: 'kai', label: 'a' });
    expect(again).toEqual({ ...first, isNew: false });
    expect((await stat(path.join(library, first.path))).mtimeMs).toBe(before.mtimeMs);
  });

  it('when a path is given, then the file goes there, and a file there with other bytes is replaced', async () => {
    const bytes = pngHeader(8, 8);
    const target = path.join(library, 'references', 'kai', 'recorded.png');
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, 'damaged');
    const stored = await storeReferenceFile(storage, { bytes, characterSlug: 'kai', label: 'ignored', path: 'references/kai/recorded.png' });
    expect(stored).toMatchObject({ path: 'references/kai/recorded.png', isNew: true });
    expect(await readFile(target)).toEqual(bytes);
  });

  it('when a file of several MiB stands at the path (its look hashed as a stream), then the same bytes are kept as they are and other bytes of the same size are written over it', async () => {
    // 8 MiB: the stream reads it in 32 chunks (256 KiB each), the last byte in the last; 40 MiB
    // proved no more, and its synced writes took seconds on a loaded disk.
    const bytes = Buffer.concat([pngHeader(8, 8), Buffer.alloc(8 * 1024 * 1024)]);
    for (let i = 64; i < bytes.length; i += 4099) bytes[i] = i % 253;
    const target = path.join(library, 'references', 'kai', 'large.png');
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
    const before = await stat(target);
    const same = await storeReferenceFile(storage, { bytes, characterSlug: 'kai', label: 'large', path: 'references/kai/large.png' });
    expect(same).toMatchObject({ sha256: sha256Hex(bytes), bytes: bytes.length, isNew: false });
    expect(await stat(target)).toMatchObject({ ino: before.ino, mtimeMs: before.mtimeMs });

    const other = Buffer.from(bytes);
    other[other.length - 1] ^= 0xff;
    const replaced = await storeReferenceFile(storage, { bytes: other, characterSlug: 'kai', label: 'large', path: 'references/kai/large.png' });
    expect(replaced).toMatchObject({ sha256: sha256Hex(other), isNew: true });
    expect(sha256Hex(await readFile(target))).toBe(sha256Hex(other));
  });

  it('when a regular file of another size stands at the path (1 GiB, sparse), then it is not hashed (its size says it is not these bytes) and the bytes are written over it', async () => {
    const bytes = pngHeader(8, 8);
    const target = path.join(library, 'references', 'kai', 'oversized.png');
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, '');
    await truncate(target, 1024 * 1024 * 1024);
    const hashed: string[] = [];
    const sha256 = storage.sha256.bind(storage);
    storage.sha256 = (relativePath) => (hashed.push(relativePath), sha256(relativePath));
    const stored = await storeReferenceFile(storage, { bytes, characterSlug: 'kai', label: 'x', path: 'references/kai/oversized.png' });
    // Before: the whole gigabyte hashed (past the 5 s bound on a slow volume: 503 library_unavailable for a library that works).
    expect(hashed).toEqual([]);
    expect(stored).toMatchObject({ sha256: sha256Hex(bytes), isNew: true });
    expect(await readFile(target)).toEqual(bytes);
  });

  it('when a file of the same size stands at the path, then it is still hashed: other bytes are written over it, the same ones kept', async () => {
    const bytes = pngHeader(8, 8);
    const target = path.join(library, 'references', 'kai', 'same-size.png');
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, Buffer.alloc(bytes.length, 7));
    expect(await storeReferenceFile(storage, { bytes, characterSlug: 'kai', label: 'x', path: 'references/kai/same-size.png' })).toMatchObject({ isNew: true });
    expect(await readFile(target)).toEqual(bytes);
    expect(await storeReferenceFile(storage, { bytes, characterSlug: 'kai', label: 'x', path: 'references/kai/same-size.png' })).toMatchObject({ isNew: false });
  });

  it('when it is a dry run, then the facts are reported and nothing is written', async () => {
    const stored = await storeReferenceFile(storage, { bytes: pngHeader(8, 8), characterSlug: 'kai', label: 'a', dryRun: true });
    expect(stored.isNew).toBe(true);
    expect(await storage.exists(stored.path)).toBe(false);
  });
});
