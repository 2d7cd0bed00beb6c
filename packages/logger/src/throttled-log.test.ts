import { FirstOccurrences, LineEvery } from './throttled-log';

describe('FirstOccurrences', () => {
  it('when a key occurs again and again, then only its first occurrence, one with another signature, or one after it was forgotten is news', () => {
    let clock = 0;
    const seen = new FirstOccurrences({ now: () => clock });
    const news = (key: string, signature: string) => {
      clock += 1_000;
      return seen.occur(key, signature);
    };
    expect([news('a', 'down'), news('a', 'down'), news('b', 'down'), news('a', 'down')]).toEqual([true, false, true, false]);
    expect([news('a', 'full'), news('a', 'full')]).toEqual([true, false]);
    expect([seen.forget('a'), seen.forget('a')]).toEqual([true, false]);
    expect(news('a', 'full')).toBe(true);
  });

  it('when repeatAfterMs is set, then a repeat that long after its key last was news is news again (counted from the news, not the last repeat)', () => {
    let clock = 0;
    const seen = new FirstOccurrences({ now: () => clock, repeatAfterMs: 60_000 });
    const newsAt: number[] = [];
    for (; clock < 300_000; clock += 5_000) if (seen.occur('database', 'ECONNREFUSED')) newsAt.push(clock);
    expect(newsAt).toEqual([0, 60_000, 120_000, 180_000, 240_000]);
    // A clock the caller holds (`at`) is taken over the one given.
    expect(seen.occur('database', 'ECONNREFUSED', 240_000 + 59_999)).toBe(false);
  });

  it('when more keys occur than are remembered, then the one seen longest ago is forgotten, and its next occurrence is news', () => {
    const seen = new FirstOccurrences({ now: () => 0, remembered: 2 });
    seen.occur('a');
    seen.occur('b');
    seen.occur('a');
    seen.occur('c');
    expect(seen.size).toBe(2);
    expect([seen.occur('a'), seen.occur('c'), seen.occur('b')]).toEqual([false, false, true]);
  });

  it('when swept, then keys not seen for longer than the given time are forgotten and the others counted per signature', () => {
    let clock = 0;
    const seen = new FirstOccurrences({ now: () => clock });
    seen.occur('gone', 'down');
    clock = 4 * 60_000;
    seen.occur('a', 'down');
    seen.occur('b', 'down');
    seen.occur('c', 'full');
    clock = 6 * 60_000;
    expect(seen.sweep(5 * 60_000)).toEqual(new Map([['down', 2], ['full', 1]]));
    expect(seen.size).toBe(3);
    expect(seen.occur('gone', 'down')).toBe(true);
  });
});

describe('LineEvery', () => {
  /** The times (ms) at which a line is let through, for occurrences at `times`. */
  function linesAt(lines: LineEvery<'firsts'>, times: number[], set: (at: number) => void) {
    const out: [number, unknown][] = [];
    for (const at of times) {
      set(at);
      const line = lines.occur({ firsts: at === times[0] ? 1 : 0 });
      if (line) out.push([at, line]);
    }
    return out;
  }
  const every5s = (from: number, to: number) => Array.from({ length: (to - from) / 5_000 }, (_, i) => from + i * 5_000);

  it('when atOnce, then the first occurrence is a line at once and then at most one a minute, each with the occurrences since the last line', () => {
    let clock = 0;
    const lines = new LineEvery<'firsts'>(60_000, { now: () => clock, atOnce: true });
    expect(linesAt(lines, every5s(0, 180_000), (at) => (clock = at))).toEqual([
      [0, { occurrences: 1, firsts: 1 }],
      [60_000, { occurrences: 12, firsts: 0 }],
      [120_000, { occurrences: 12, firsts: 0 }],
    ]);
  });

  it('when not atOnce, then the first line comes a whole interval after the first occurrence, and a reset starts over', () => {
    let clock = 0;
    const lines = new LineEvery<'firsts'>(60_000, { now: () => clock, atOnce: false });
    expect(linesAt(lines, every5s(0, 130_000), (at) => (clock = at))).toEqual([
      [60_000, { occurrences: 13, firsts: 1 }],
      [120_000, { occurrences: 12, firsts: 0 }],
    ]);
    lines.reset();
    clock = 130_000;
    expect(lines.occur()).toBeUndefined();
    clock = 189_999;
    expect(lines.occur()).toBeUndefined();
    clock = 190_000;
    expect(lines.occur()).toEqual({ occurrences: 3 });
  });

  it('when restartWhenIdle and an interval passes without an occurrence, then the next one starts anew (no line, its tallies alone)', () => {
    let clock = 0;
    const lines = new LineEvery(60_000, { now: () => clock, atOnce: false, restartWhenIdle: true });
    lines.occur();
    clock = 60_001;
    expect(lines.occur()).toBeUndefined();
    clock = 120_001;
    expect(lines.occur()).toEqual({ occurrences: 2 });
    // Without it, the same occurrences make a line as soon as the interval from the first has passed.
    clock = 0;
    const plain = new LineEvery(60_000, { now: () => clock, atOnce: false });
    plain.occur();
    clock = 60_001;
    expect(plain.occur()).toEqual({ occurrences: 2 });
  });
});
