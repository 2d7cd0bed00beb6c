import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { SyncedWriteThreads } from './synced-write-threads';

const run = promisify(execFile);
const TSX = path.resolve(__dirname, '../../../node_modules/.bin/tsx');

describe('SyncedWriteThreads', () => {
  let root: string;
  let threads: SyncedWriteThreads;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'synced-'));
    threads = new SyncedWriteThreads(2);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const file = (name: string, bytes: Buffer) => ({ temp: path.join(root, `${name}.0123456789ab.partial`), target: path.join(root, name), bytes });

  it('when more writes arrive than there are threads, then they wait their turn, each lands whole, and no more threads start than allowed', async () => {
    const writes = Array.from({ length: 12 }, (_, i) => file(`f${i}.png`, Buffer.alloc(1000 + i, i)));
    await Promise.all(writes.map((w) => threads.run([w], [root])));
    for (const [i, w] of writes.entries()) expect(await readFile(w.target)).toEqual(Buffer.alloc(1000 + i, i));
    expect((await readdir(root)).filter((n) => n.endsWith('.partial'))).toEqual([]);
    expect(threads.threads).toBe(2);
  });

  it('when a folder vanished since it was made, then the write makes it again', async () => {
    const w = { ...file('x.png', Buffer.from('x')), temp: path.join(root, 'gone/x.png.0123456789ab.partial'), target: path.join(root, 'gone/x.png') };
    await threads.run([w], [path.join(root, 'gone')]);
    expect(await readFile(w.target, 'utf8')).toBe('x');
  });

  it('when a write fails, then the error is fs\'s (code, syscall, path), the temp file is removed, and the thread serves the next write', async () => {
    // A folder with a file in it where the target should go: the rename onto it fails.
    await mkdir(path.join(root, 'taken.png'));
    await writeFile(path.join(root, 'taken.png/inside'), 'x');
    const failed = await threads.run([file('taken.png', Buffer.from('img'))], [root]).catch((error: NodeJS.ErrnoException) => error);
    expect(failed).toBeInstanceOf(Error);
    expect(['EISDIR', 'ENOTEMPTY', 'EEXIST']).toContain((failed as NodeJS.ErrnoException).code);
    expect((failed as NodeJS.ErrnoException).syscall).toBe('rename');
    expect((failed as NodeJS.ErrnoException).path).toBe(path.join(root, 'taken.png.0123456789ab.partial'));
    expect((await readdir(root)).sort()).toEqual(['taken.png']);
    await threads.run([file('next.png', Buffer.from('ok'))], [root]);
    expect(await readFile(path.join(root, 'next.png'), 'utf8')).toBe('ok');
  });

  it('when a thread dies in the middle of a write, then that write fails and the next one gets a new thread', async () => {
    const big = threads.run([file('big.png', Buffer.alloc(64 * 2 ** 20, 1))], [root]);
    // The only thread, busy with that write, is killed from outside.
    const [only] = [...(threads as unknown as { busy: Map<Worker, unknown> }).busy.keys()];
    await only.terminate();
    await expect(big).rejects.toThrow(/synced-write thread exited/);
    await threads.run([file('after.png', Buffer.from('after'))], [root]);
    expect(await readFile(path.join(root, 'after.png'), 'utf8')).toBe('after');
    expect(threads.threads).toBe(1);
  });

  it('when a program writes and has nothing else to do, then it exits once the write landed: a busy thread holds it open, an idle one does not', async () => {
    const script = path.join(root, 'write-and-leave.ts');
    await writeFile(
      script,
      `import { LocalLibraryStorage } from ${JSON.stringify(path.resolve(__dirname, 'library-storage'))};
new LocalLibraryStorage(${JSON.stringify(root)}).writeAll([{ path: 'a/b.png', bytes: Buffer.alloc(4 * 2 ** 20, 7) }, { path: 'a/b.png.json', bytes: Buffer.from('{}') }]).then(() => console.log('written'));
`,
    );
    const { stdout } = await run(TSX, [script], { timeout: 30_000 });
    expect(stdout.trim()).toBe('written');
    expect((await readFile(path.join(root, 'a/b.png'))).equals(Buffer.alloc(4 * 2 ** 20, 7))).toBe(true);
    expect(await readFile(path.join(root, 'a/b.png.json'), 'utf8')).toBe('{}');
  });
});
