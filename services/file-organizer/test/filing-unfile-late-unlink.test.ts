import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { FilingFencedError, type CreatedJob } from '@anime/pipeline';
import { fileExists, waitFor } from '@anime/testing';
import { hungRemovals } from './hung-removals';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A removal's bound here (30 s in production). */
const REMOVAL_BOUND_MS = 300;
/** Long past the filing job's next try (1 s backoff) and a retried filing's write: it would have filed by then, were it let. */
const HUNG_FOR_MS = 3_000;

/**
 * A removal of a canceled generation's files times out on a hung mount (its bound, 30 s), but the
 * unlink it asked for is not undone: the kernel carries it out once the volume answers, by name,
 * whatever file is at the path by then. A library path is fixed per job and output, so a retry's
 * filing writes the very path. Before, the filing's fence was let go as the removal timed out: the
 * retry's filing claimed, wrote and recorded the file, and the late unlink then removed it, leaving
 * a completed generation whose Asset names no file.
 */
describe('a removal that timed out on a hung mount and lands later (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;

  beforeAll(async () => {
    fx = await startFilingFixture('sw-late-unlink');
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  afterEach(() => jest.restoreAllMocks());

  async function canceledAfterKilledFiling(): Promise<{ job: CreatedJob; file: string }> {
    const { job, file } = await fx.writtenByKilledTry();
    expect(await fx.lifecycle.cancelAtOnce(job.id)).not.toBeNull();
    return { job, file };
  }

  it('when the generation is retried meanwhile, then no filing writes its paths until the late unlink landed, and the retry\'s file stays', async () => {
    const { job, file } = await canceledAfterKilledFiling();
    const mount = hungRemovals(REMOVAL_BOUND_MS);
    await fx.enqueue(job);
    await waitFor(() => mount.late.length > 0, 'the removal to hang on the library');
    await sleep(REMOVAL_BOUND_MS + 200);

    // The removal timed out; the generation is retried over the API.
    expect(await fx.lifecycle.retry(job.id, { reason: 'retry requested over the API' })).not.toBeNull();
    await fx.enqueue(job, { replaceFinished: true });
    await sleep(HUNG_FOR_MS);
    // Before: the fence was let go with the timeout; a claim (the retry's filing) went through, and it filed.
    await expect(fx.lifecycle.claimFiling(job.id, randomUUID())).rejects.toBeInstanceOf(FilingFencedError);
    expect(await fx.generation(job.id)).toMatchObject({ status: 'running', stage: 'rendered', assets: [] });

    // The mount answers: the unlinks left behind land, then the retry files.
    await mount.answer();
    const row = await fx.completed(job.id, 20_000);
    expect(row.assets).toHaveLength(1);
    expect(path.join(fx.libraryDir, row.assets[0].path)).toBe(file);
    expect(await fileExists(file)).toBe(true);
    expect(sha256Hex(await readFile(file))).toBe(row.assets[0].sha256);
    expect(await fileExists(`${file}.json`)).toBe(true);
  }, 60_000);
});
