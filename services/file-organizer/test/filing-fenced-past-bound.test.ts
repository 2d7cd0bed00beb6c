import { readFile, stat } from 'node:fs/promises';
import { Job } from 'bullmq';
import { fileExists, waitFor } from '@anime/testing';
import { hungRemovals } from './hung-removals';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A removal's bound here (30 s in production): long enough for the retry to land while the removal is under way. */
const REMOVAL_BOUND_MS = 1_000;
/** JOB_TIMEOUT_S here (600 s by default): how long a filing waits for a library that does not answer, from when its job was queued. */
const JOB_TIMEOUT_S = 4;
/** The filing's five tries back off from 20 ms here (1 s in production): all spent within some 0.3 s. */
const TRIES_BACKOFF_MS = 20;
/** How late past the bound the filing may end: its last look at the fence and its tries, under load. */
const SLACK_MS = 3_000;
/** The line a filing on a library that does not answer logs once its wait is over (waitForBackend). */
const WAIT_OVER = 'the library does not answer (ETIMEDOUT: a hung mount?), still after the wait (JOB_TIMEOUT_S): the filing spends its tries now';

/**
 * A removal of a canceled generation's files times out on a hung mount and keeps the filing fenced
 * until the kernel's late unlink lands (Fenced.keepUntil): on a hard-hung mount, for hours. The
 * generation is retried meanwhile. Before, its filing found the filing fenced and was deferred every
 * second without end, at debug: the generation stayed running with no bound, where a filing that
 * meets the hung mount itself waits JOB_TIMEOUT_S from when its job was queued, then spends its
 * tries and fails with filing_failed.
 */
describe('a retried filing fenced by a removal the hung mount does not answer (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;
  let mount: ReturnType<typeof hungRemovals> | undefined;

  beforeAll(async () => {
    fx = await startFilingFixture('fence-past-bound', { captureLog: true, jobTimeoutS: JOB_TIMEOUT_S, triesBackoffMs: TRIES_BACKOFF_MS });
  }, 60_000);

  afterAll(async () => {
    // The unlinks left behind land, and the fence they kept (and its connection) is let go.
    await mount?.answer();
    await fx?.close();
  });

  const filingJob = (id: string) => Job.fromId(fx.service.ctx.queues.byKey.assetFiling, `filing-${id}`);
  const stillRunning = async (id: string) => expect(await fx.generation(id)).toMatchObject({ status: 'running', stage: 'rendered', errorCode: null, assets: [] });

  it('when the fence outlasts JOB_TIMEOUT_S, then the filing stops waiting and fails as one on a hung library does (filing_failed, its tries spent), having written nothing', async () => {
    const { job, file } = await fx.writtenByKilledTry();
    expect(await fx.lifecycle.cancelAtOnce(job.id)).not.toBeNull();
    const killedTrys = await stat(file);
    mount = hungRemovals(REMOVAL_BOUND_MS);
    await fx.enqueue(job);
    const queuedAt = (await filingJob(job.id))!.timestamp;
    await waitFor(() => mount!.late.length > 0, 'the removal of the canceled generation\'s files to hang on the library');

    // The generation is retried over the API while its files are being removed (answered at once:
    // the removal holds the fence, not the row). The removal then times out, its unlink left behind
    // keeping the fence, and the filing job (the same one: a filing job per generation) files it.
    expect(await fx.lifecycle.retry(job.id, { reason: 'retry requested over the API' })).not.toBeNull();
    await fx.enqueue(job, { replaceFinished: true });
    const bound = queuedAt + JOB_TIMEOUT_S * 1000;

    // Within the bound the filing waits for the fence, as it did.
    while (Date.now() < bound - 500) {
      await stillRunning(job.id);
      await sleep(100);
    }
    // Past it, it ends as a filing on a library that does not answer does. Before: still running, deferred every second.
    const ended = await waitFor(async () => {
      const g = await fx.generation(job.id);
      return g.status !== 'running' ? g : null;
    }, 'the fenced filing to end past JOB_TIMEOUT_S', bound + SLACK_MS - Date.now());
    expect(ended).toMatchObject({ status: 'failed', stage: 'rendered', errorCode: 'filing_failed', assets: [] });
    expect(ended.errorMessage).toMatch(/^ETIMEDOUT: the library files of an earlier filing of generation [0-9a-f-]+ are being removed, still after \d+ s \(.*hung mount\?\) \(try 5 of 5\)$/);
    expect(fx.lines.some((line) => line.level === 'warn' && line.message === WAIT_OVER && line.generationId === job.id)).toBe(true);

    // Nothing was written while the unlink left behind may still land: the killed try's image and
    // sidecar, untouched ('{}', not a sidecar a filing writes), and the image is the file it removes.
    const now = await stat(file);
    expect({ ino: now.ino, mtimeMs: now.mtimeMs }).toEqual({ ino: killedTrys.ino, mtimeMs: killedTrys.mtimeMs });
    expect(await readFile(`${file}.json`, 'utf8')).toBe('{}');
    await mount.answer();
    expect(await fileExists(file)).toBe(false);
    expect(await fx.generation(job.id)).toMatchObject({ status: 'failed', errorCode: 'filing_failed', assets: [] });
  }, 60_000);
});
