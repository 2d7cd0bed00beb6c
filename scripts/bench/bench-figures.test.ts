import { idleGaps } from './prompt-timings';
import { percentile, summarize } from './stats';

describe('benchmark figures', () => {
  it('when percentiles are taken, then they use the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(summarize([])).toMatchObject({ n: 0 });
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });

  it('when prompts ran on two backends, then idle gaps are measured per backend between consecutive prompts only', () => {
    const gaps = idleGaps([
      { backend: 'a', promptId: '2', startedAt: 120, finishedAt: 200 },
      { backend: 'a', promptId: '1', startedAt: 0, finishedAt: 100 },
      { backend: 'b', promptId: '3', startedAt: 50, finishedAt: 150 },
      { backend: 'b', promptId: '4', startedAt: 150, finishedAt: 250 },
      { backend: 'a', promptId: '5', startedAt: 205, finishedAt: 300 },
    ]);
    expect(gaps.sort((x, y) => x - y)).toEqual([0, 5, 20]);
  });
});
