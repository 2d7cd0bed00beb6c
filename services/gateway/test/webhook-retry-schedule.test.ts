import { DEFAULT_RETRY_SCHEDULE, nextRetryDelay, parseRetryAfter } from '../src/webhooks/retry-schedule';

describe('webhook retry schedule', () => {
  it("when no schedule is given, then it is Standard Webhooks' example: 8 tries over about a day, each wait drawn within ± 10 %", () => {
    const waits = DEFAULT_RETRY_SCHEDULE.delaysMs;
    expect(waits).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    for (const [i, wait] of waits.entries()) {
      expect(nextRetryDelay(DEFAULT_RETRY_SCHEDULE, i + 1, null, () => 0)).toBe(Math.round(wait * 0.9));
      expect(nextRetryDelay(DEFAULT_RETRY_SCHEDULE, i + 1, null, () => 1)).toBe(Math.round(wait * 1.1));
    }
    // The eighth try was the last.
    expect(nextRetryDelay(DEFAULT_RETRY_SCHEDULE, waits.length + 1, null)).toBeNull();
  });

  it("when the receiver answers Retry-After, then the next try comes no sooner (up to the cap), and never sooner than the schedule's", () => {
    const schedule = { delaysMs: [1_000, 1_000], jitter: 0, maxRetryAfterMs: 60_000 };
    expect(nextRetryDelay(schedule, 1, parseRetryAfter('30'))).toBe(30_000);
    expect(nextRetryDelay(schedule, 1, parseRetryAfter('0'))).toBe(1_000);
    expect(nextRetryDelay(schedule, 1, parseRetryAfter('86400'))).toBe(60_000);
    const now = Date.parse('2026-11-30T10:00:00Z');
    expect(parseRetryAfter('Mon, 30 Nov 2026 10:00:20 GMT', now)).toBe(20_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
