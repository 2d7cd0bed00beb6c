import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

/** How often at most a waiting filing looks again here (15 s in production). */
const WAIT_STEP_MS = 250;
/** The filing job's tries back off from 20 ms here (1 s in production). */
const TRIES_BACKOFF_MS = 20;

/**
 * A filing canceled while it waits ends when its job comes back and finds the generation over
 * (settle), not in the wait's own look: the wait log must forget it there too. Remembered, its
 * retry's first wait (the same generation id) was logged at debug, hidden from the operator, and
 * it kept counting in the "N filings wait" summary (and in memory) after it waited no more.
 */
describe('the wait log of a filing canceled while it waits (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;

  beforeAll(async () => {
    fx = await startFilingFixture('filing-wait-log-cancel', { captureLog: true, triesBackoffMs: TRIES_BACKOFF_MS, service: { waitStepMs: WAIT_STEP_MS } });
  });

  afterAll(async () => {
    await fx?.close();
  });

  const waits = (id: string) => fx.lines.filter((line) => line.generationId === id && /: the filing waits, its tries untouched$/.test(line.message));

  it('when a waiting filing is canceled, its job settles, and it is retried, then its retry\'s first wait is logged at info again', async () => {
    const blocking = path.join(fx.libraryDir, 'blocked');
    await writeFile(blocking, 'not a folder');
    const { job } = await fx.rendered('blocked');
    await fx.enqueue(job);
    await waitFor(async () => waits(job.id).find((line) => line.level === 'info') ?? null, 'its first wait', 20_000);

    expect(await fx.lifecycle.cancelAtOnce(job.id)).not.toBeNull();
    const queue = fx.service.ctx.queues.byKey.assetFiling;
    // Its job comes back at its next look (within WAIT_STEP_MS here, 15 s in production), finds the generation canceled and ends
    // Its settle removes what it may have written under the blocked folder: nothing can be there, so it ends at once
    // (before, the removal failed on ENOTDIR and the job spent every try, then stayed failed in Redis).
    await waitFor(async () => Object.values(await queue.getJobCounts('delayed', 'waiting', 'prioritized', 'active')).every((n) => n === 0) || null, 'the canceled filing job ends', 30_000);
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 1, failed: 0 });

    fx.lines.splice(0);
    expect(await fx.lifecycle.retry(job.id, { reason: 'test' })).not.toBeNull();
    // As the gateway's retry hands it on: the canceled run's finished job is replaced (else only the recovery sweep, every 30 s, queued it).
    await fx.enqueue(job, { replaceFinished: true });
    await waitFor(async () => waits(job.id)[0] ?? null, 'its retry waits', 20_000);
    // Before: at debug, its wait before the cancel still remembered.
    expect(waits(job.id)[0]).toMatchObject({ level: 'info' });

    await rm(blocking);
    await waitFor(async () => (await fx.db.generationJob.findUnique({ where: { id: job.id } }))?.status === 'completed' || null, 'filed once the folder can be made', 30_000);
  });
});
