import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalLibraryStorage, sha256Hex } from '@anime/media';
import { sweepStage } from '@anime/pipeline';
import { fileExists, waitFor } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The sweep of failed filings looks this often here (RECOVERY_SWEEP_MS, 30 s by default). */
const SWEEP_EVERY_MS = 200;
/** How long a failed filing is left untouched before it is swept here (10 s by default). */
const SWEEP_GRACE_MS = 300;

/**
 * A generation that ends `failed` at filing must hold no files of its own in its library folder, nor
 * Asset rows: a studio's folder holds the images of generations that completed, and a retry files
 * afresh, once. Before, only canceled generations' files were swept (findStranded re-queues their
 * filing job, whose admission removes them); a failed one's filing job re-opens the generation
 * instead, so the recovery sweep skips it, and whatever a filing left of it stayed for good: files a
 * try's removal could not remove, files of a try killed after another try failed the generation, a
 * removal of them killed between its steps.
 */
describe('the files of a generation that failed while filing (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;

  beforeAll(async () => {
    fx = await startFilingFixture('sw-failed-sweep', {
      triesBackoffMs: 20,
      service: { failedFilingSweep: { intervalMs: SWEEP_EVERY_MS, graceMs: SWEEP_GRACE_MS } },
    });
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  afterEach(() => jest.restoreAllMocks());

  const generation = (id: string) => fx.generation(id);
  const filesOfJob = async (jobId: string) => (await readdir(fx.libraryDir, { recursive: true })).filter((name) => name.includes(jobId)).sort();

  const swept = (id: string) => waitFor(async () => (await generation(id)).filingToken === null, 'the failed filing swept, its claim cleared', 10_000);

  it('when a try writes, is killed, and another try fails the generation, then its files are removed, once, and a retry files it afresh, once', async () => {
    const { job, file } = await fx.writtenByKilledTry();
    // Another try (the killed one's job handed on) claims the filing and fails it: its outputs are none of its own to remove.
    expect(await fx.lifecycle.claimFiling(job.id, randomUUID())).toBe(true);
    expect(await fx.lifecycle.fail(job.id, { code: 'filing_failed', message: 'the try gave up' })).not.toBeNull();
    // The recovery sweep re-queues no filing job for it (that would re-open it).
    expect(await sweepStage(fx.db, fx.service.ctx.queues, 'assetFiling', 0)).toBe(0);

    // Before: the files stayed in the failed generation's folder for good.
    await swept(job.id);
    expect(await fileExists(file)).toBe(false);
    expect(await fileExists(`${file}.json`)).toBe(false);
    expect(await filesOfJob(job.id)).toEqual([]);
    expect(await generation(job.id)).toMatchObject({ status: 'failed', stage: 'rendered', errorCode: 'filing_failed', assets: [] });

    // A retry over the API files it afresh: one Asset, its file whole.
    expect(await fx.lifecycle.retry(job.id, { reason: 'retry requested over the API' })).not.toBeNull();
    await fx.enqueue(job, { replaceFinished: true });
    const row = await fx.completed(job.id, 20_000);
    expect(row.assets).toHaveLength(1);
    expect(path.join(fx.libraryDir, row.assets[0].path)).toBe(file);
    expect(sha256Hex(await readFile(file))).toBe(row.assets[0].sha256);
    expect(await fileExists(`${file}.json`)).toBe(true);
    // Completed: no later sweep touches it.
    await sleep(SWEEP_EVERY_MS + SWEEP_GRACE_MS + 200);
    expect(await fileExists(file)).toBe(true);
  }, 60_000);

  it('when a removal of a failed generation\'s files dies between its steps (its claim taken, files and Asset rows left), then the sweep does it again, rows and all', async () => {
    const { job, file, relative, outputBytes } = await fx.writtenByKilledTry();
    const row = await fx.db.generationJob.findUniqueOrThrow({ where: { id: job.id } });
    // An Asset row an earlier filing recorded (one by one) for it.
    await fx.db.asset.create({
      data: {
        jobId: job.id, characterVersionId: row.characterVersionId!, sourceKey: 'SaveImage/output//earlier.png', path: relative, sha256: sha256Hex(outputBytes),
        bytes: outputBytes.length, width: 64, height: 64, mime: 'image/png', project: row.project, episode: row.episode, scene: row.scene, shot: row.shot, metadata: {},
      },
    });
    expect(await fx.lifecycle.fail(job.id, { code: 'filing_failed', message: 'the try gave up' })).not.toBeNull();
    // Step 1 of the removal (the claim taken by it), then the process died.
    await fx.db.generationJob.update({ where: { id: job.id }, data: { filingToken: randomUUID() } });

    await swept(job.id);
    expect(await fileExists(file)).toBe(false);
    expect(await fileExists(`${file}.json`)).toBe(false);
    expect(await generation(job.id)).toMatchObject({ status: 'failed', stage: 'rendered', assets: [] });
  }, 60_000);

  it('when a filing fails part-way through its outputs and the removal of what it wrote fails too, then the failed generation\'s files are removed by the sweep', async () => {
    const { job, outputBytes } = await fx.rendered();
    // A second output, gone from the backend (its /view answers 404): the filing fails after writing the first.
    const row = await fx.db.generationJob.findUniqueOrThrow({ where: { id: job.id } });
    const outputs = row.outputs as { items: Array<{ filename: string }> };
    await fx.db.generationJob.update({ where: { id: job.id }, data: { outputs: { ...outputs, items: [...outputs.items, { ...outputs.items[0], filename: `gone_${randomUUID()}.png` }] } } });
    const { file } = await fx.outputFile(job.id, 0);
    // The library refuses the removals for a while (a flaky mount): the try's own removal of its files fails.
    const original = LocalLibraryStorage.prototype.remove;
    let refusing = true;
    jest.spyOn(LocalLibraryStorage.prototype, 'remove').mockImplementation(async function (this: LocalLibraryStorage, relativePath: string) {
      if (refusing) throw Object.assign(new Error(`EIO: i/o error, unlink '${relativePath}'`), { code: 'EIO', syscall: 'unlink', path: relativePath });
      return original.call(this, relativePath);
    });
    await fx.enqueue(job);
    const failed = await waitFor(async () => {
      const g = await generation(job.id);
      return g.status === 'failed' ? g : null;
    }, 'the filing failed', 20_000);
    expect(failed).toMatchObject({ stage: 'rendered', errorCode: 'filing_failed', assets: [] });
    expect(sha256Hex(await readFile(file))).toBe(sha256Hex(outputBytes));

    refusing = false;
    await swept(job.id);
    expect(await filesOfJob(job.id)).toEqual([]);
    expect(await generation(job.id)).toMatchObject({ status: 'failed', stage: 'rendered', assets: [] });
  }, 60_000);
});
