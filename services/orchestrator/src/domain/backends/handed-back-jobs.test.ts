import { waitFor } from '@anime/testing';
import { HAND_BACK_FIRST_DELAY_MS, HAND_BACK_MAX_DELAY_MS, HandedBackJobs } from './handed-back-jobs';

/** A delayed job that records its promotion; `refuse` makes promote() fail as BullMQ's does for a job no longer delayed. */
function job(promoted: string[], key: string, refuse = false) {
  return { promote: () => (promoted.push(key), refuse ? Promise.reject(new Error(`Job ${key} is not in the delayed state`)) : Promise.resolve()) };
}

describe('HandedBackJobs', () => {
  it('when a job is handed back again and again, then its delay doubles from the first up to the most, and starts over once it is forgotten', () => {
    const jobs = new HandedBackJobs();
    const delays = Array.from({ length: 8 }, () => jobs.handingBack('g1', 5, ['http://a']));
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 64, 128].map((n) => Math.min(n * HAND_BACK_FIRST_DELAY_MS, HAND_BACK_MAX_DELAY_MS)));
    jobs.forget('g1');
    expect(jobs.size).toBe(0);
    expect(jobs.handingBack('g1', 5, ['http://a'])).toBe(HAND_BACK_FIRST_DELAY_MS);
  });

  it('when places come free on a backend, then the most urgent delayed jobs for it are promoted, the first handed back first, and only those delayed', async () => {
    const jobs = new HandedBackJobs();
    const promoted: string[] = [];
    for (const [key, rank, backends] of [['batch-1', 10, ['http://a']], ['normal-1', 5, ['http://a']], ['other', 1, ['http://b']], ['normal-2', 5, ['http://a', 'http://b']], ['not-yet-delayed', 1, ['http://a']]] as const) {
      jobs.handingBack(key, rank, [...backends]);
      if (key !== 'not-yet-delayed') jobs.delayed(key, job(promoted, key));
    }
    jobs.promoteFor('http://a', 2);
    expect(promoted).toEqual(['normal-1', 'normal-2']);
    // Promoted, on their way: they count as waiting for a place there (and on every backend they could take).
    expect([jobs.comingFor('http://a'), jobs.comingFor('http://b')]).toEqual([2, 1]);
    jobs.promoteFor('http://a', 5);
    expect(promoted).toEqual(['normal-1', 'normal-2', 'batch-1']);
    jobs.arrived('normal-1');
    expect(jobs.comingFor('http://a')).toBe(2);
  });

  it('when a promotion is refused (the job is no longer delayed), then the job is forgotten and no longer counts as coming', async () => {
    const jobs = new HandedBackJobs();
    const promoted: string[] = [];
    jobs.handingBack('gone', 5, ['http://a']);
    jobs.delayed('gone', job(promoted, 'gone', true));
    jobs.promoteFor('http://a', 1);
    expect(jobs.comingFor('http://a')).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect([jobs.comingFor('http://a'), jobs.size]).toEqual([0, 0]);
  });

  it('when a promotion is refused (a job another orchestrator took since, or one removed), then the next delayed job for that backend is promoted in its place: the place does not wait for its delay', async () => {
    const jobs = new HandedBackJobs();
    const promoted: string[] = [];
    // Handed back first, so promoted first: both taken by another process since (BullMQ refuses their promotion).
    for (const key of ['taken-elsewhere-1', 'taken-elsewhere-2']) {
      jobs.handingBack(key, 10, ['http://a']);
      jobs.delayed(key, job(promoted, key, true));
    }
    jobs.handingBack('still-delayed', 10, ['http://a']);
    jobs.delayed('still-delayed', job(promoted, 'still-delayed'));
    jobs.handingBack('for-b', 10, ['http://b']);
    jobs.delayed('for-b', job(promoted, 'for-b'));
    // The last place on a comes free: one job is to come for it.
    jobs.promoteFor('http://a', 1);
    await waitFor(() => promoted.includes('still-delayed') || null, 'the job still delayed to be promoted for the place', 1_000).catch(() => undefined);
    // Before: ['taken-elsewhere-1'] alone, and the live job waited out its delay (up to 30 s), or one probe (2 s) per place for each such job ahead of it, with http://a idle.
    expect(promoted).toEqual(['taken-elsewhere-1', 'taken-elsewhere-2', 'still-delayed']);
    expect([jobs.comingFor('http://a'), jobs.comingFor('http://b'), jobs.size]).toEqual([1, 0, 2]);
  });

  it('when a job is back in acquire(), then it cannot be promoted until it is delayed again', () => {
    const jobs = new HandedBackJobs();
    const promoted: string[] = [];
    jobs.handingBack('g', 5, ['http://a']);
    jobs.delayed('g', job(promoted, 'g'));
    jobs.arrived('g');
    jobs.promoteFor('http://a', 1);
    expect(promoted).toEqual([]);
  });
});
