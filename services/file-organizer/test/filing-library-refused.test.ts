import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Job } from 'bullmq';
import { waitFor, withFileSizeLimit } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The filing's five tries back off from 20 ms here (20, 40, 80, 160 ms): all spent within some 0.3 s. */
const TRIES_BACKOFF_MS = 20;
/** Ten times as long as the tries last: a filing that spent them would have failed by then. */
const REFUSED_FOR_MS = 3_000;
/** How often at most a waiting filing looks again here (15 s in production). */
const WAIT_STEP_MS = 250;

/**
 * The library refuses writes while outputs are being filed: a full disk, a quota, a read-only
 * remount. Here the kernel refuses them (EFBIG) through this process's file-size limit, lowered
 * below an image's size and lifted again, which needs neither a mount nor privileges. Filing's five
 * tries with their backoff last a moment (about 15 s in production, 0.3 s here); an operator freeing
 * the disk takes longer.
 */
describe('filing while the library refuses writes (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;

  beforeAll(async () => {
    fx = await startFilingFixture('filing-library-refused', { triesBackoffMs: TRIES_BACKOFF_MS, service: { waitStepMs: WAIT_STEP_MS } });
  });

  afterAll(async () => {
    await fx?.close();
  });

  const filingJob = (id: string) => Job.fromId(fx.service.ctx.queues.byKey.assetFiling, `filing-${id}`);
  const generation = (id: string) => fx.db.generationJob.findUniqueOrThrow({ where: { id }, include: { assets: true } });
  const filesOfJob = async (jobId: string) => (await readdir(fx.libraryDir, { recursive: true })).filter((name) => name.includes(jobId)).sort();

  /** For REFUSED_FOR_MS, far past the time its tries last: still running at stage rendered, no try spent. */
  async function waitsWithItsTriesUntouched(id: string): Promise<void> {
    const until = Date.now() + REFUSED_FOR_MS;
    while (Date.now() < until) {
      expect(await generation(id)).toMatchObject({ status: 'running', stage: 'rendered', errorCode: null });
      expect((await filingJob(id))!.attemptsMade).toBe(0);
      await sleep(100);
    }
  }

  it('when the library refuses writes longer than the tries last, then the filing waits (no try spent, no temp file left) and files once, by itself, when writes are taken again', async () => {
    const { job, outputBytes } = await fx.rendered('full');
    const { id } = job;
    // An image of 64×64 and its sidecar are each over 1 KiB: every filing write is refused half-way.
    await withFileSizeLimit(1024, async () => {
      await fx.enqueue(job);
      await waitsWithItsTriesUntouched(id);
      expect(await filesOfJob(id)).toEqual([]);
    });

    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.status !== 'running' ? g : null;
    }, 'the filing once the library takes writes again', 30_000);
    expect(row).toMatchObject({ status: 'completed', stage: 'filed', errorCode: null });
    expect(row.assets.map((a) => a.sha256)).toEqual([sha256(outputBytes)]);
    const [asset] = row.assets;
    expect(await filesOfJob(id)).toEqual([asset.path, `${asset.path}.json`].map((p) => path.normalize(p)).sort());
    expect(sha256(await readFile(path.join(fx.libraryDir, asset.path)))).toBe(asset.sha256);
  });

  // Its folders cannot be made: on a read-only volume that is EROFS, which Node's recursive mkdir
  // reported as ENOENT (a fault: the tries were spent); a blocked path needs no mount to build.
  it('when a file stands where the filing\'s project folder goes, then the filing waits (no try spent) and files once it is moved', async () => {
    const blocking = path.join(fx.libraryDir, 'blocked');
    await writeFile(blocking, 'not a folder');
    const { job } = await fx.rendered('blocked');
    await fx.enqueue(job);
    await waitsWithItsTriesUntouched(job.id);

    await rm(blocking);
    const row = await waitFor(async () => {
      const g = await generation(job.id);
      return g.status !== 'running' ? g : null;
    }, 'the filing once the folder can be made', 30_000);
    expect(row).toMatchObject({ status: 'completed', stage: 'filed', errorCode: null });
  });
});
