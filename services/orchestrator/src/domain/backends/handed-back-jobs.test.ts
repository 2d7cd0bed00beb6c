import { waitFor } from '@anime/testing';
import { HAND_BACK_DELAY_CAP_MS, HAND_BACK_FIRST_DELAY_MS, HAND_BACK_MAX_DELAY_MS, HAND_BACK_RETURNS_PER_S, HandedBackJobs, REMEMBERED } from './handed-back-jobs';

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

  it('when many jobs are handed back, then the longest delay grows with their number (about HAND_BACK_RETURNS_PER_S of them back a second on their own delay), up to the cap', () => {
    const jobs = new HandedBackJobs();
    // Its delays once they stop doubling: about the longest, spread ±25% (no more than the cap), so a backlog handed back at once does not come back at once.
    const longest = (key: string) => {
      const delays = Array.from({ length: 40 }, () => jobs.handingBack(key, 5, ['http://a'])).slice(20);
      const mean = delays.reduce((sum, ms) => sum + ms, 0) / delays.length;
      const most = Math.min(jobs.longestDelayMs(), HAND_BACK_DELAY_CAP_MS);
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(most === HAND_BACK_MAX_DELAY_MS ? most : most * 0.75);
      expect(Math.max(...delays)).toBeLessThanOrEqual(most === HAND_BACK_MAX_DELAY_MS ? most : Math.min(most * 1.25, HAND_BACK_DELAY_CAP_MS));
      return mean;
    };
    // A small backlog: 30 s, as before.
    for (let i = 0; i < 100; i++) jobs.handingBack(`small-${i}`, 5, ['http://a']);
    expect(longest('small-0')).toBe(HAND_BACK_MAX_DELAY_MS);
    // 3,000 held handed back: 300 s, so their returns stay ~10 a second (before: 30 s, 100 a second, each handed back again).
    for (let i = 100; i < 3_000; i++) jobs.handingBack(`deep-${i}`, 5, ['http://a']);
    expect(jobs.size).toBe(3_000);
    expect(jobs.longestDelayMs()).toBe((3_000 / HAND_BACK_RETURNS_PER_S) * 1_000);
    expect(Math.abs(longest('small-1') - 300_000)).toBeLessThan(30_000);
    // Past the cap's count (9,000 at 10 a second): 15 min, however many.
    for (let i = 3_000; i < 12_000; i++) jobs.handingBack(`deeper-${i}`, 5, ['http://a']);
    expect(jobs.longestDelayMs()).toBe(HAND_BACK_DELAY_CAP_MS);
    // Its mean a little under the cap (the spread above it is cut): 844 s.
    expect(Math.abs(longest('deeper-11999') - 844_000)).toBeLessThan(40_000);
    // The backlog drains (each got a place): back to 30 s.
    for (let i = 3_000; i < 12_000; i++) jobs.forget(`deeper-${i}`);
    for (let i = 100; i < 3_000; i++) jobs.forget(`deep-${i}`);
    expect(longest('small-2')).toBe(HAND_BACK_MAX_DELAY_MS);
  });

  it('when more jobs are handed back than are remembered, then the last in line is not remembered (it comes back after the longest delay), so the first in line are still promoted first', () => {
    const jobs = new HandedBackJobs();
    const promoted: string[] = [];
    for (let i = 0; i < REMEMBERED; i++) {
      jobs.handingBack(`normal-${i}`, 5, ['http://a']);
      jobs.delayed(`normal-${i}`, job(promoted, `normal-${i}`));
    }
    // As urgent, last in line: not remembered, never promoted, back after the longest delay (not 1 s).
    expect(jobs.handingBack('late', 5, ['http://a'])).toBeGreaterThanOrEqual(HAND_BACK_DELAY_CAP_MS * 0.75);
    jobs.delayed('late', job(promoted, 'late'));
    expect(jobs.size).toBe(REMEMBERED);
    // More urgent: remembered in place of the last in line.
    expect(jobs.handingBack('urgent', 1, ['http://a'])).toBe(HAND_BACK_FIRST_DELAY_MS);
    jobs.delayed('urgent', job(promoted, 'urgent'));
    jobs.promoteFor('http://a', 3);
    // Before: the first handed back were forgotten (normal-0 waited out its delay while later ones were promoted).
    expect(promoted).toEqual(['urgent', 'normal-0', 'normal-1']);
    expect(jobs.hasAhead(`normal-${REMEMBERED - 1}`, 5, ['http://a'])).toBe(true);
  });

  it('when a job is back in acquire() on its own delay, then a job as urgent handed back before it (or a more urgent one) that is delayed for one of its backends goes first, and none after it', () => {
    const jobs = new HandedBackJobs();
    const promoted: string[] = [];
    for (const [key, rank, backends] of [['old', 5, ['http://a']], ['urgent-b', 1, ['http://b']], ['mine', 5, ['http://a', 'http://c']], ['young', 5, ['http://a']], ['young-urgent', 1, ['http://c']]] as const) {
      jobs.handingBack(key, rank, [...backends]);
      jobs.delayed(key, job(promoted, key));
    }
    jobs.arrived('mine');
    expect(jobs.hasAhead('mine', 5, ['http://a'])).toBe(true);
    // Only a more urgent one shares http://c; 'young' came after it.
    expect(jobs.hasAhead('mine', 5, ['http://c'])).toBe(true);
    jobs.arrived('young-urgent');
    expect(jobs.hasAhead('mine', 5, ['http://c'])).toBe(false);
    // Promoted (on its way, not delayed) or in acquire, it is no longer ahead: the place is counted for it instead.
    jobs.promoteFor('http://a', 1);
    expect(promoted).toEqual(['old']);
    expect(jobs.hasAhead('mine', 5, ['http://a'])).toBe(false);
    // A job never handed back (fresh from the queue) comes after every one delayed as urgent.
    expect(jobs.hasAhead('fresh', 5, ['http://a'])).toBe(true);
    expect(jobs.hasAhead('fresh', 1, ['http://a'])).toBe(false);
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

  it('when a promoted job does not come back here in time (another process took it, or its generation was canceled), then it is forgotten: it neither counts as coming nor stays in the line', () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const jobs = new HandedBackJobs();
      const promoted: string[] = [];
      for (const key of ['gone-elsewhere', 'back-here']) {
        jobs.handingBack(key, 5, ['http://a']);
        jobs.delayed(key, job(promoted, key));
      }
      jobs.promoteFor('http://a', 2);
      jobs.arrived('back-here');
      jest.setSystemTime(10_000);
      expect(jobs.comingFor('http://a')).toBe(0);
      // Before: 'gone-elsewhere' stayed remembered for good (until 10,000 later ones pushed it out).
      expect(jobs.size).toBe(1);
      expect(jobs.hasAhead('fresh', 5, ['http://a'])).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('when a job\'s delay ended and it did not come back here (another process promoted or took it), then it is no longer ahead of anyone, and is forgotten', () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const jobs = new HandedBackJobs();
      const promoted: string[] = [];
      const delayMs = jobs.handingBack('taken-elsewhere', 5, ['http://a']);
      jobs.delayed('taken-elsewhere', job(promoted, 'taken-elsewhere'));
      expect(jobs.hasAhead('fresh', 5, ['http://a'])).toBe(true);
      // Its delay over, and the time a promotion takes to arrive: another process has it.
      jest.setSystemTime(delayMs + 10_000);
      // Before: still ahead of every job as urgent (only a promotion of its own refused forgot it), and remembered.
      expect(jobs.hasAhead('fresh', 5, ['http://a'])).toBe(false);
      jobs.handingBack('next', 5, ['http://a']);
      expect(jobs.size).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('when this process promotes a job from the shared line (handed back here or elsewhere), then it counts as coming for the backends it waits for, and is no longer delayed here', () => {
    const jobs = new HandedBackJobs();
    const promoted: string[] = [];
    jobs.handingBack('mine', 5, ['http://a', 'http://b']);
    jobs.delayed('mine', job(promoted, 'mine'));
    jobs.promotedFrom('http://a', 'mine');
    jobs.promotedFrom('http://a', 'another-process-handed-it-back');
    expect([jobs.comingFor('http://a'), jobs.comingFor('http://b')]).toEqual([2, 1]);
    expect(jobs.hasAhead('fresh', 5, ['http://a'])).toBe(false);
    jobs.promoteFor('http://a', 1);
    expect(promoted).toEqual([]);
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
