import { memoryWindow, type MemorySample } from './memory-windows';

describe('memoryWindow', () => {
  // A sawtooth like the orchestrator's under load: the heap fills, a major collection empties it.
  const sawtooth = (fromDone: number, base: number): MemorySample[] => [170, 185, 200, 215, 168, 184, 199, 214].map((v, i) => ({ done: fromDone + i * 100, mib: v - 170 + base }));

  it('when RSS saws between collections, then the windows compare medians: the same sawtooth later shows no growth, whichever reading a single sample would have hit', () => {
    const samples = [...sawtooth(1000, 170), ...sawtooth(9000, 170)];
    const warm = memoryWindow(samples, 1000, 2000);
    const end = memoryWindow(samples, 9000, 10000);
    expect(warm).toEqual({ median: 192, min: 168, max: 215, samples: 8 });
    expect(end.median).toBe(warm.median);
  });

  it('when the whole sawtooth moves up (real growth), then the median moves by as much', () => {
    const samples = [...sawtooth(1000, 170), ...sawtooth(9000, 190)];
    expect(memoryWindow(samples, 9000, 10000).median! - memoryWindow(samples, 1000, 2000).median!).toBe(20);
  });

  it('when a window holds no readable sample, then it has no median', () => {
    expect(memoryWindow([{ done: 5, mib: null }, { done: 50, mib: 100 }], 0, 10)).toEqual({ median: null, min: null, max: null, samples: 0 });
  });
});
