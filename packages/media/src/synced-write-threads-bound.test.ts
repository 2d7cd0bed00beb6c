import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SyncedWriteThreads } from './synced-write-threads';

// A hung mount, without root: a thread's write whose temp file is a FIFO no reader has opened blocks
// in open(), as a write to an NFS mount that stopped answering blocks in the kernel. Opening the FIFO
// for reading is the mount answering again (the write then fails: a FIFO takes no fsync).
const BOUND = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SyncedWriteThreads: a write the library does not answer', () => {
  let root: string;
  const readers: number[] = [];
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'synced-bound-'));
  });
  afterEach(async () => {
    for (const fd of readers.splice(0)) closeSync(fd);
    await rm(root, { recursive: true, force: true });
  });

  const file = (name: string, bytes = Buffer.from(name)) => ({ temp: path.join(root, `${name}.0123456789ab.partial`), target: path.join(root, name), bytes });
  /** A write whose open blocks until `answer` is called. */
  function hungFile(name: string) {
    const fifo = path.join(root, `${name}.fifo`);
    execFileSync('mkfifo', [fifo]);
    return { file: { temp: fifo, target: path.join(root, name), bytes: Buffer.from(name) }, answer: () => void readers.push(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)) };
  }
  const outcome = (write: Promise<void>, started: number) =>
    write.then(
      () => ({ ok: true, ms: Date.now() - started }),
      (error: NodeJS.ErrnoException) => ({ ok: false, code: error.code, syscall: error.syscall, path: error.path, ms: Date.now() - started }),
    );

  it('when the thread does not answer, then its task and the task queued behind it fail with ETIMEDOUT after the bound and not before; the queued one is dropped, never landing once the thread answers, which then serves the next write', async () => {
    const threads = new SyncedWriteThreads(1);
    const hung = hungFile('a.png');
    const started = Date.now();
    const [running, queued] = await Promise.all([
      outcome(threads.run([hung.file], [], BOUND), started),
      outcome(threads.run([file('b.png')], [root], BOUND), started),
    ]);
    // Before: neither ever settled.
    expect(running).toMatchObject({ ok: false, code: 'ETIMEDOUT', syscall: 'write', path: hung.file.target });
    expect(queued).toMatchObject({ ok: false, code: 'ETIMEDOUT', syscall: 'write', path: path.join(root, 'b.png') });
    expect(running.ms).toBeGreaterThanOrEqual(BOUND - 5);
    expect(queued.ms).toBeGreaterThanOrEqual(BOUND - 5);

    hung.answer();
    await threads.run([file('c.png')], [root], 5_000);
    expect(await readFile(path.join(root, 'c.png'), 'utf8')).toBe('c.png');
    await sleep(100);
    const names = await readdir(root);
    expect(names).not.toContain('b.png');
    expect(names).not.toContain('a.png');
    expect(threads.threads).toBe(1);
  });

  it('when the threads ahead still answer (a busy volume), then a queued task waits past the bound counted from its queueing, the bound counting from their last answer', async () => {
    const threads = new SyncedWriteThreads(1);
    // The thread started and answering, as it is in a service that has filed before.
    await threads.run([file('warm.png')], [root]);
    const first = hungFile('first.png');
    const second = hungFile('second.png');
    const bound = BOUND * 2;
    const started = Date.now();
    void threads.run([first.file], []).catch(() => undefined);
    void threads.run([second.file], []).catch(() => undefined);
    const queued = outcome(threads.run([file('b.png')], [root], bound), started);
    await sleep(bound * 0.6);
    first.answer();
    await sleep(bound * 0.8);
    second.answer();
    expect(await queued).toMatchObject({ ok: true });
    expect((await queued).ms).toBeGreaterThan(bound);
    expect(await readFile(path.join(root, 'b.png'), 'utf8')).toBe('b.png');
  });
});
