import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Job } from 'bullmq';
import { poolOf } from '@anime/db';
import { LibraryWriteNotAnsweringError, LocalLibraryStorage, SyncedWriteThreads } from '@anime/media';
import { waitFor } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The filing's five tries back off from 20 ms here: all spent within some 0.3 s (plus each try's bound). */
const TRIES_BACKOFF_MS = 20;
/** How long a write step may go unanswered here (30 s and more in production). */
const WRITE_BOUND_MS = 400;
/** How often at most a waiting filing looks again here (15 s in production). */
const WAIT_STEP_MS = 250;
/** Far past the time five tries of the bound would last: a filing that spent them would have failed by then. */
const HUNG_FOR_MS = 4_000;

/**
 * The library stops answering while outputs are being filed: a hung NFS or FUSE mount, whose writes
 * never return. Here the file-organizer's one synced-write thread is held in a write whose open never
 * returns (a FIFO no reader has opened), as a write to a hung mount blocks in the kernel; opening the
 * FIFO for reading is the mount answering again. Before, the filing's write waited for as long as the
 * mount hung: its job stayed active, holding its worker slot and its claim, and was never retried.
 */
describe('filing while the library does not answer writes (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;
  let fifoDir: string;
  let fifo: string;
  let reader: number | undefined;
  const threads = new SyncedWriteThreads(1);

  beforeAll(async () => {
    fifoDir = await mkdtemp(path.join(tmpdir(), 'lib-filing-hung-'));
    fifo = path.join(fifoDir, 'hung.fifo');
    fx = await startFilingFixture('lib-filing-hung', {
      captureLog: true,
      triesBackoffMs: TRIES_BACKOFF_MS,
      service: { waitStepMs: WAIT_STEP_MS, library: { threads, writeTimeoutMs: () => WRITE_BOUND_MS } },
    });
  });

  afterAll(async () => {
    if (reader === undefined && fifo) reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    if (reader !== undefined) closeSync(reader);
    await fx?.close();
    await rm(fifoDir, { recursive: true, force: true });
  });

  const filingJob = (id: string) => Job.fromId(fx.service.ctx.queues.byKey.assetFiling, `filing-${id}`);
  const generation = (id: string) => fx.db.generationJob.findUniqueOrThrow({ where: { id }, include: { assets: true } });
  const filesOfJob = async (jobId: string) => (await readdir(fx.libraryDir, { recursive: true })).filter((name) => name.includes(jobId)).sort();

  it('when a write hangs longer than the tries would last, then the try fails within the bound and the filing waits (its job delayed, no try spent, no file), and files once, by itself, when the library answers', async () => {
    const { job, outputBytes } = await fx.rendered('hung');
    const { id } = job;
    execFileSync('mkfifo', [fifo]);
    const held = threads.run([{ temp: fifo, target: path.join(fifoDir, 'held.png'), bytes: Buffer.from('x') }], []).catch(() => undefined);
    await fx.enqueue(job);

    // Before: the job stayed active (its write never settled), never delayed, never retried.
    await waitFor(async () => (await (await filingJob(id))?.getState()) === 'delayed', 'the filing job put back, delayed, while the library hangs', HUNG_FOR_MS);
    expect(fx.lines.some((line) => line.message.includes('the library does not answer (ETIMEDOUT: a hung mount?): the filing waits, its tries untouched'))).toBe(true);
    const until = Date.now() + HUNG_FOR_MS;
    while (Date.now() < until) {
      expect(await generation(id)).toMatchObject({ status: 'running', stage: 'rendered', errorCode: null });
      expect((await filingJob(id))!.attemptsMade).toBe(0);
      await sleep(100);
    }
    expect(await filesOfJob(id)).toEqual([]);

    reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    await held;
    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.status !== 'running' ? g : null;
    }, 'the filing once the library answers again', 30_000);
    expect(row).toMatchObject({ status: 'completed', stage: 'filed', errorCode: null });
    expect(row.assets.map((a) => a.sha256)).toEqual([sha256(outputBytes)]);
    const [asset] = row.assets;
    await sleep(300);
    expect(await filesOfJob(id)).toEqual([asset.path, `${asset.path}.json`].map((p) => path.normalize(p)).sort());
    expect(sha256(await readFile(path.join(fx.libraryDir, asset.path)))).toBe(asset.sha256);
    expect(await fx.db.asset.count({ where: { jobId: id } })).toBe(1);
  }, 60_000);

  /** Whether the generation's row can be locked within 150 ms (as a cancel's UPDATE would need it, within its lock_timeout). */
  async function rowFree(id: string): Promise<boolean> {
    const client = await poolOf(fx.db).connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL lock_timeout = '150ms'");
      await client.query('SELECT id FROM generation_jobs WHERE id = $1::uuid FOR UPDATE', [id]);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') return false;
      throw error;
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  it('when a write hangs, then the try that met it does not hold the generation\'s row while it waits on removals the library does not answer either (a cancel meanwhile is not refused for a lock)', async () => {
    const { job } = await fx.rendered('hung-row');
    const { id } = job;
    const fifo2 = path.join(fifoDir, 'hung-row.fifo');
    execFileSync('mkfifo', [fifo2]);
    let reader2: number | undefined;
    const held = threads.run([{ temp: fifo2, target: path.join(fifoDir, 'held-row.png'), bytes: Buffer.from('x') }], []).catch(() => undefined);
    // The removals of a hung mount: each fails after its bound (ETIMEDOUT), as LocalLibraryStorage's do.
    const original = LocalLibraryStorage.prototype.remove;
    const removal = jest.spyOn(LocalLibraryStorage.prototype, 'remove').mockImplementation(
      (relativePath: string) => new Promise((_, reject) => setTimeout(() => reject(new LibraryWriteNotAnsweringError('unlink', relativePath, WRITE_BOUND_MS)), WRITE_BOUND_MS)),
    );
    try {
      await fx.enqueue(job);
      await waitFor(async () => (await (await filingJob(id))?.getState()) === 'delayed', 'the filing job put back, delayed, while the library hangs', HUNG_FOR_MS);
      const locked: number[] = [];
      const until = Date.now() + 2_500;
      while (Date.now() < until) {
        // Before: each try held the row for the bound of its first removal (30 s in production, past lock_timeout).
        if (!(await rowFree(id))) locked.push(Date.now());
        await sleep(40);
      }
      expect(locked).toEqual([]);
    } finally {
      removal.mockRestore();
      expect(LocalLibraryStorage.prototype.remove).toBe(original);
      reader2 = openSync(fifo2, constants.O_RDONLY | constants.O_NONBLOCK);
      await held;
    }
    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.status !== 'running' ? g : null;
    }, 'the filing once the library answers again', 30_000);
    closeSync(reader2);
    expect(row).toMatchObject({ status: 'completed', stage: 'filed', errorCode: null });
    expect(await filesOfJob(id)).toHaveLength(2);
  }, 60_000);
});
