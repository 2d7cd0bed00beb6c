import { committedHeapWindow, heapWindow, memoryWindow, type MemorySample } from './memory-windows';

describe('memoryWindow', () => {
  // A sawtooth like the orchestrator's under load: the heap fills, a major collection empties it.
  const sawtooth = (fromDone: number, base: number): MemorySample[] => [170, 185, 200, 215, 168, 184, 199, 214].map((v, i) => ({ done: fromDone + i * 100, value: v - 170 + base }));

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
    expect(memoryWindow([{ done: 5, value: null }, { done: 50, value: 100 }], 0, 10)).toEqual({ median: null, min: null, max: null, samples: 0 });
  });
});

describe('heapWindow', () => {
  it('when major collections ran in a window, then it gives the median heap they left and how many ran; a window without one says 0', () => {
    const reading = (done: number, mib: number | null, majorCollections: number | null) => ({ done, value: { mib, majorCollections } });
    const samples = [reading(100, 40, 3), reading(200, 44, 4), reading(300, 42, 5), reading(400, 42, 5), reading(900, 42, 5), reading(1000, 42, 5)];
    expect(heapWindow(samples, 100, 400)).toEqual({ median: 42, min: 40, max: 44, samples: 4, collections: 2 });
    expect(heapWindow(samples, 900, 1000)).toMatchObject({ median: 42, collections: 0 });
    expect(heapWindow([reading(100, null, null)], 0, 200)).toEqual({ median: null, min: null, max: null, samples: 0, collections: null });
  });
});

describe('committedHeapWindow', () => {
  it('when the heap V8 holds saws with the collections, then it gives the median of the readings in the window; readings without it are left out', () => {
    const reading = (done: number, committedMib: number | null | undefined) => ({ done, value: { mib: 40, majorCollections: 1, committedMib } });
    const samples = [reading(100, 60), reading(200, 90), reading(300, 70), reading(400, null), reading(500, undefined), reading(900, 120)];
    expect(committedHeapWindow(samples, 100, 500)).toEqual({ median: 70, min: 60, max: 90, samples: 3 });
    expect(committedHeapWindow(samples, 400, 500)).toEqual({ median: null, min: null, max: null, samples: 0 });
  });
});
