import { fileExists, waitFor } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

/** The sweep of failed filings looks this often here (RECOVERY_SWEEP_MS, 30 s by default). */
const SWEEP_EVERY_MS = 200;
/** How long a failed filing is left untouched before it is swept here (10 s by default). */
const SWEEP_GRACE_MS = 300;

/**
 * The sweep of failed filings goes through them in id order. A filing that failed because the row's
 * outputs could not be read (MalformedDataError: the try had claimed the filing with the row's read,
 * and its own removal could not tell the paths either) leaves a claim set on a generation whose paths
 * the sweep cannot tell. It must not stop the sweep there: the failed filings after it in id order
 * hold files of their own that nothing else removes.
 */
describe('the sweep of failed filings past one whose outputs cannot be read (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;

  beforeAll(async () => {
    fx = await startFilingFixture('failed-sweep-malformed', {
      triesBackoffMs: 20,
      service: { failedFilingSweep: { intervalMs: SWEEP_EVERY_MS, graceMs: SWEEP_GRACE_MS } },
    });
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('when a failed filing whose outputs are malformed comes first, then the failed filings after it are still swept', async () => {
    const one = await fx.writtenByKilledTry();
    const two = await fx.writtenByKilledTry();
    const [unreadable, later] = one.job.id < two.job.id ? [one, two] : [two, one];

    // Its outputs column no longer reads as RenderOutputs; its filing job comes, claims the filing with its read, and fails the generation.
    await fx.db.generationJob.update({ where: { id: unreadable.job.id }, data: { outputs: { items: 'not a list' } } });
    await fx.enqueue(unreadable.job);
    const failed = await waitFor(async () => {
      const g = await fx.generation(unreadable.job.id);
      return g.status === 'failed' ? g : null;
    }, 'the filing of the unreadable outputs to fail', 20_000);
    expect(failed).toMatchObject({ stage: 'rendered', errorMessage: expect.stringContaining('has a malformed outputs'), filingToken: expect.any(String) });

    // A later generation (in id order) whose try was killed after writing, failed by another try.
    expect(await fx.lifecycle.fail(later.job.id, { code: 'filing_failed', message: 'the try gave up' })).not.toBeNull();

    // Before: every sweep stopped at the unreadable one (its paths threw outside the per-generation handling), and this stayed.
    await waitFor(async () => (await fx.generation(later.job.id)).filingToken === null, 'the later failed filing swept, its claim cleared', 10_000);
    expect(await fileExists(later.file)).toBe(false);
    expect(await fileExists(`${later.file}.json`)).toBe(false);
    expect(await fx.generation(later.job.id)).toMatchObject({ status: 'failed', stage: 'rendered', assets: [] });
  }, 60_000);
});
