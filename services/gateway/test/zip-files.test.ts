import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256Hex } from '@anime/media';
import { zipFiles } from '../src/domain/bundle/zip-files';
import { unzip } from './unzip';

describe('zipFiles', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'zip-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sink = () =>
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    });

  /** An image file in `dir` and the bundle entry that streams it, expecting these bytes. */
  async function image(name: string, bytes: Buffer) {
    const source = path.join(dir, name);
    await writeFile(source, bytes);
    return { path: `references/${name}`, source, referenceId: `ref-${name}`, sha256: sha256Hex(bytes), size: bytes.length };
  }

  /** Files of `dir` this process holds open. */
  const openFilesInDir = async () => {
    const links = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    return links.filter((target) => target.startsWith(dir + path.sep));
  };

  it('when a library image streamed into the zip is gone by the time it is read (removed after it was checked), then the stream fails, which the export can answer, and nothing is thrown past it', async () => {
    const present = await image('present.png', Buffer.alloc(1_000, 1));
    const files = [
      { path: 'character.json', bytes: Buffer.from('{}') },
      present,
      { ...present, path: 'references/gone.png', source: path.join(dir, 'gone.png') },
    ];
    await expect(pipeline(zipFiles(files), sink())).rejects.toThrow(/ENOENT/);
  });

  it('when an image holds other bytes of the recorded size by the time it is read, then the stream fails (409 bundle_incomplete, reason altered) before the zip ends', async () => {
    const recorded = Buffer.alloc(70_000, 2);
    const entry = await image('altered.png', recorded);
    const other = Buffer.from(recorded);
    other[other.length - 1] = 3;
    await writeFile(entry.source, other);
    const received: Buffer[] = [];
    const collect = new Writable({
      write(chunk: Buffer, _encoding, done) {
        received.push(chunk);
        done();
      },
    });
    // Before: the zip ended cleanly, holding the other bytes under the recorded sha256's name.
    await expect(pipeline(zipFiles([{ path: 'character.json', bytes: Buffer.from('{}') }, entry]), collect)).rejects.toMatchObject({
      status: 409,
      code: 'bundle_incomplete',
      details: { referenceId: entry.referenceId, references: [{ id: entry.referenceId, sha256: entry.sha256, reason: 'altered' }] },
    });
    // Cut before its last bytes (held back until checked) and the central directory: not a zip.
    expect(Buffer.concat(received).includes(other.subarray(-60_000))).toBe(false);
    await expect(unzip(Buffer.concat(received))).rejects.toThrow();
  });

  it('when the images are as recorded, then the zip holds them', async () => {
    const a = await image('a.png', Buffer.alloc(200_000, 4));
    const b = await image('b.png', Buffer.alloc(10, 5));
    const chunks: Buffer[] = [];
    const collect = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
    await pipeline(zipFiles([{ path: 'character.json', bytes: Buffer.from('{}') }, a, b]), collect);
    const files = await unzip(Buffer.concat(chunks));
    expect([...files.keys()]).toEqual(['character.json', 'references/a.png', 'references/b.png']);
    expect(sha256Hex(files.get('references/a.png')!)).toBe(a.sha256);
    expect(sha256Hex(files.get('references/b.png')!)).toBe(b.sha256);
  });

  it('when the zip\'s reader goes away in the middle of an image, then that image\'s file is closed', async () => {
    const big = await image('big.png', Buffer.alloc(8 * 1024 * 1024, 6));
    const output = zipFiles([big]) as PassThrough;
    // Read a little, as a client that then disconnects does.
    await new Promise<void>((resolve) => output.once('data', () => resolve()));
    output.pause();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await openFilesInDir()).toEqual([big.source]);
    output.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await openFilesInDir()).toEqual([]);
  });
});
