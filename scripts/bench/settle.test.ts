import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { settlingLine } from './report';
import { cpuTimesFromStat, settleAfterBurst } from './settle';
import { summarize } from './stats';

describe('settling the machine before the overhead is measured', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => database?.drop());

  it('when the machine is settled, then the database is vacuumed and checkpointed (as the superuser the bench connects as), within the bound given', async () => {
    database = await createTestDatabase('settle');
    const started = performance.now();
    const settling = await settleAfterBurst(database.url, 1_500);
    expect(settling.checkpointed).toBe(true);
    expect(settling.busy).toBeGreaterThanOrEqual(0);
    expect(settling.busy).toBeLessThanOrEqual(1);
    // One more reading of a second may start just before the bound.
    expect(performance.now() - started).toBeLessThan(1_500 + 1_000 + 5_000);
  });

  it('when /proc/stat is read, then busy time is everything but idle and iowait, of the eight counted fields', () => {
    const stat = 'cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n';
    expect(cpuTimesFromStat(stat)).toEqual({ busy: 160, total: 1000 });
  });

  it('when the report tells how the figure was taken, then it names the steps, the wait and what the same jobs cost before settling', () => {
    const settled = settlingLine({ jobs: 50, unsettled: summarize([30, 31, 45]), settling: { ms: 6400, busy: 0.04, checkpointed: true } });
    expect(settled).toContain('the file system synced, the bench database vacuumed, PostgreSQL checkpointed, then the cores under 10 % busy over a second; 6.4 s in all');
    expect(settled).toContain('The same 50 sequential jobs run straight after the warm-up');
    expect(settled).toContain('overhead p50 31.0 ms, p99 45.0 ms');
    const busy = settlingLine({ jobs: 50, unsettled: summarize([30]), settling: { ms: 30_500, busy: 0.37, checkpointed: false } });
    expect(busy).toContain('no checkpoint (it needs a superuser), then the cores still 37 % busy when the wait');
  });
});
