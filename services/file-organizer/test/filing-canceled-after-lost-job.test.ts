import { access } from 'node:fs/promises';
import { sweepStage } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const exists = (file: string) => access(file).then(() => true, () => false);

/**
 * Found by the r34e chaos campaign (kill -9 of the file-organizer, Redis restarted empty, cancels):
 * a filing try that claimed a rendered generation and wrote its image and sidecar is killed before
 * it records them, Redis restarts and loses its queue job, and the generation is canceled (at once:
 * it awaits filing). Nothing came for it again — the recovery sweep re-enqueued only unfinished
 * generations — so the two files stayed in the library for good, recorded by no Asset.
 */
describe('a canceled generation whose killed filing left files and whose queue job Redis lost (file-organizer, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;

  beforeAll(async () => {
    fx = await startFilingFixture('filing-canceled-lost-job');
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  /** As the sweep finds it once the recovery grace has passed. */
  const untouchedForAMinute = (id: string) => fx.db.$executeRaw`UPDATE generation_jobs SET "updatedAt" = now() - interval '1 minute' WHERE id = ${id}::uuid`;

  it('when it is canceled with no queue job left, then the recovery sweep has its files removed, once', async () => {
    const { job, file } = await fx.writtenByKilledTry();
    expect(await fx.lifecycle.cancelAtOnce(job.id)).not.toBeNull();
    await untouchedForAMinute(job.id);

    expect(await sweepStage(fx.db, fx.service.ctx.queues, 'assetFiling')).toBe(1);
    await waitFor(async () => !(await exists(file)) && !(await exists(`${file}.json`)), 'the killed filing\'s files to be removed', 10_000, 50);
    expect(await fx.db.asset.count({ where: { jobId: job.id } })).toBe(0);
    expect((await fx.db.generationJob.findUniqueOrThrow({ where: { id: job.id } })).status).toBe('canceled');

    // Settled: the sweeps after it leave the generation alone.
    await untouchedForAMinute(job.id);
    expect(await sweepStage(fx.db, fx.service.ctx.queues, 'assetFiling')).toBe(0);
  });

  it('when a canceled generation was never claimed by a filing, then the sweep leaves it alone', async () => {
    const { job: unclaimed } = await fx.rendered();
    expect(await fx.lifecycle.cancelAtOnce(unclaimed.id)).not.toBeNull();
    await untouchedForAMinute(unclaimed.id);
    expect(await sweepStage(fx.db, fx.service.ctx.queues, 'assetFiling')).toBe(0);
  });
});
