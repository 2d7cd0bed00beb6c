import { waitFor } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FILINGS = 12;
/** How long a job put back waits for PostgreSQL here (5 s in production): some ten put-backs of each job in AWAY_MS. */
const DATABASE_RETRY_DELAY_MS = 250;
const AWAY_MS = 2_500;

/**
 * Filings queued while PostgreSQL is away: each stage job is put back every 5 s, no try spent, and
 * each put-back used to log its end at info, a line per job per look. Now one warn line a minute per
 * worker says they wait, and each put-back is at debug.
 */
describe('the log lines of filings waiting for PostgreSQL (file-organizer in-process through a TCP proxy, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;

  beforeAll(async () => {
    fx = await startFilingFixture('filing-database-down-log', { captureLog: true, proxiedDatabase: true, service: { databaseRetryDelayMs: DATABASE_RETRY_DELAY_MS } });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it(`when ${FILINGS} filings are put back some ten times each while PostgreSQL is away, then one warn line says so, each put-back is at debug, and all are filed once it is back`, async () => {
    // Recorded as rendered through the test's own connection, not the proxy.
    const jobs = [];
    for (let i = 0; i < FILINGS; i++) jobs.push((await fx.rendered('db')).job);
    await fx.proxy!.refuse();
    fx.lines.splice(0);
    for (const job of jobs) await fx.enqueue(job);
    await sleep(AWAY_MS);
    const during = fx.lines.splice(0);
    await fx.proxy!.accept();
    const ids = jobs.map((job) => job.id);
    await waitFor(async () => {
      const rows = await fx.db.generationJob.findMany({ where: { id: { in: ids } } });
      return rows.every((g) => g.status === 'completed') || null;
    }, 'every filing once PostgreSQL is back', 60_000);

    const loud = during.filter((line) => line.level !== 'debug');
    // Before: none; each put-back logged "stage job ended without completing" at info, a line per job per put-back.
    expect(loud.filter((line) => line.message === 'PostgreSQL unavailable: stage jobs wait for it, no try spent')).toHaveLength(1);
    expect(loud.filter((line) => line.message === 'stage job ended without completing')).toEqual([]);
    expect(loud.length).toBeLessThanOrEqual(3);
    const putBacks = during.filter((line) => line.level === 'debug' && line.message === 'stage job ended without completing' && line.outcome === 'deferred');
    // Each job put back again and again: the one warn line stood for all of them.
    expect(putBacks.length).toBeGreaterThanOrEqual(FILINGS * 2);
  });
});
