import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalLibraryStorage } from './library-storage';
import { SyncedWriteThreads } from './synced-write-threads';

// The library's synced-write thread held in a write that does not answer (its open of a FIFO no reader
// has opened blocks, as a write to a hung NFS mount blocks in the kernel): the storage's writes must
// fail within their bound, as a file-system error a caller retries, not wait for as long as the mount hangs.
const BOUND = 300;
/** The bound of the steps of no size (making the folder): long, so a loaded machine's slow mkdir does not end the test's write first. */
const writeTimeoutMs = (bytes: number) => (bytes ? BOUND : 10_000);

describe('LocalLibraryStorage: writes to a library that does not answer', () => {
  let root: string;
  let fifo: string;
  let threads: SyncedWriteThreads;
  let reader: number | undefined;
  let held: Promise<unknown>;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'storage-write-bound-'));
    fifo = path.join(root, 'hung.fifo');
    execFileSync('mkfifo', [fifo]);
    threads = new SyncedWriteThreads(1);
    held = threads.run([{ temp: fifo, target: path.join(root, 'hung.png'), bytes: Buffer.from('x') }], []).catch(() => undefined);
  });
  afterEach(async () => {
    if (reader === undefined) reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    // The held write answered (it fails: a FIFO takes no fsync) before its folder goes.
    await held;
    closeSync(reader);
    reader = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('when an image and its sidecar are written, then the write fails with ETIMEDOUT (a file-system error naming the image) after the bound, and once the library answers the same write lands them', async () => {
    const storage = new LocalLibraryStorage(root, { threads, writeTimeoutMs });
    const files = [{ path: 'p/e/a.png', bytes: Buffer.from('image') }, { path: 'p/e/a.png.json', bytes: Buffer.from('{}') }];
    const started = Date.now();
    // Before: the write never settled.
    const outcome = await storage.writeAll(files).then(() => 'written', (error: unknown) => error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(BOUND - 5);
    expect(outcome).toMatchObject({ code: 'ETIMEDOUT', syscall: 'write', path: path.join(root, 'p/e/a.png') });

    reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    await storage.writeAll(files);
    expect(await readFile(path.join(root, 'p/e/a.png'), 'utf8')).toBe('image');
    expect(await readFile(path.join(root, 'p/e/a.png.json'), 'utf8')).toBe('{}');
    expect((await readdir(path.join(root, 'p/e'))).sort()).toEqual(['a.png', 'a.png.json']);
  });

  it('when one file is written, then it fails the same way, after the bound its size gives', async () => {
    const sizes: number[] = [];
    const storage = new LocalLibraryStorage(root, { threads, writeTimeoutMs: (bytes) => (sizes.push(bytes), writeTimeoutMs(bytes)) });
    const outcome = await storage.write('references/kai/a.png', Buffer.alloc(1234)).then(() => 'written', (error: unknown) => error);
    expect(outcome).toMatchObject({ code: 'ETIMEDOUT', syscall: 'write', path: path.join(root, 'references/kai/a.png') });
    expect(sizes).toContain(1234);
  });
});
