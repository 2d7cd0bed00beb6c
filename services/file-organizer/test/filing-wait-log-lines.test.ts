import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FILINGS = 12;
/** How often at most a waiting filing looks again here (15 s in production): some ten looks each in WAITED_MS. */
const WAIT_STEP_MS = 250;
const WAITED_MS = 3_000;
/** How long the wait may last on a loaded machine, where a look can come later than its step: until each filing looked again twice. */
const LOOKS_WITHIN_MS = 20_000;
/** A later look of a waiting filing: at debug. */
const isLaterLook = (line: { level: string; message: string }) => line.level === 'debug' && /: the filing waits, its tries untouched$/.test(line.message);

/**
 * A backlog of filings waiting out a library that refuses writes: each look used to log two info
 * lines per filing (its wait, then its stage job's end), some 1,400 lines for 77 filings in 40 s of
 * a chaos run. Now a filing's first wait is one info line, later looks are at debug, and this
 * process says how many wait at most once a minute.
 */
describe('the log lines of filings waiting for the library (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;

  beforeAll(async () => {
    fx = await startFilingFixture('filing-wait-log-lines', { captureLog: true, service: { waitStepMs: WAIT_STEP_MS } });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it(`when ${FILINGS} filings wait through some ten looks each for a library that refuses writes, then each says so once at info, its later looks are at debug, and all are filed once it takes writes`, async () => {
    // A file where the project's folder goes: every filing's write is refused (ENOTDIR), as on a volume gone read-only.
    const blocking = path.join(fx.libraryDir, 'blocked');
    await writeFile(blocking, 'not a folder');
    const jobs = [];
    for (let i = 0; i < FILINGS; i++) jobs.push((await fx.rendered('blocked')).job);
    const ids = jobs.map((job) => job.id);
    fx.lines.splice(0);
    for (const job of jobs) await fx.enqueue(job);
    await sleep(WAITED_MS);
    // Some ten looks each by now, but fewer under load (a loaded run saw a filing look again once in
    // WAITED_MS): the library refuses writes until each filing looked again at least twice.
    await waitFor(() => ids.every((id) => fx.lines.filter((line) => isLaterLook(line) && line.generationId === id).length >= 2) || null, 'each filing to look again twice while the library refuses writes', LOOKS_WITHIN_MS);
    const during = fx.lines.splice(0);
    await rm(blocking);
    await waitFor(async () => {
      const rows = await fx.db.generationJob.findMany({ where: { id: { in: ids } } });
      return rows.every((g) => g.status === 'completed') || null;
    }, 'every filing once the folder can be made', 40_000);

    const loud = during.filter((line) => line.level !== 'debug');
    const waits = loud.filter((line) => /^the library refuses writes \(ENOTDIR: .+\): the filing waits, its tries untouched$/.test(line.message));
    // One per filing: its first wait, naming it.
    expect(waits.map((line) => line.generationId).sort()).toEqual([...ids].sort());
    // Before: each look logged its wait and its stage job's end at info, two lines per filing per look.
    expect(loud.length).toBeLessThanOrEqual(FILINGS + 2);
    // The later looks are still there for whoever turns LOG_LEVEL to debug: several for each filing.
    const looks = during.filter(isLaterLook);
    for (const id of ids) expect(looks.filter((line) => line.generationId === id).length).toBeGreaterThanOrEqual(2);
    // Past jest's 60 s: the renders made first, WAITED_MS and LOOKS_WITHIN_MS, then up to 40 s for the filings.
  }, 90_000);
});
