import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { animeRegistry } from './anime-metrics';
import { majorCollectionsRead } from './heap-after-gc';
import { collectProcessMetrics } from './process-metrics';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('collectProcessMetrics', () => {
  it('still shows a stalled event loop in the lag metrics, sampled ten times a second', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry, 'test-service');
    await sleep(250);
    const stalledUntil = Date.now() + 200;
    while (Date.now() < stalledUntil) {
      // a synchronous stall, as a blocking handler would cause
    }
    await sleep(250);
    // prom-client reads the delay histogram (and resets it) when the whole registry is collected.
    const text = await registry.metrics();
    const max = Number(/^nodejs_eventloop_lag_max_seconds\{service="test-service"\} (\S+)$/m.exec(text)?.[1]);
    expect(max).toBeGreaterThanOrEqual(0.1);
    expect(text).toMatch(/nodejs_eventloop_lag_p99_seconds\{service="test-service"\}/);
    expect(text).not.toMatch(/nodejs_active_handles_total/);
  });

  it('reports the heap a major collection leaves: what is retained moves it, garbage does not', async () => {
    collectProcessMetrics(new Registry(), 'test-service');
    // A full collection on demand, as `node --expose-gc` would give it.
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const reading = async () => {
      const seen = majorCollectionsRead();
      collect();
      // GC entries reach their observer asynchronously.
      for (let waited = 0; majorCollectionsRead() === seen && waited < 5_000; waited += 10) await sleep(10);
      const text = await animeRegistry.getSingleMetricAsString('anime_heap_after_major_gc_bytes');
      return Number(/^anime_heap_after_major_gc_bytes (\S+)$/m.exec(text)?.[1]);
    };

    // 4 million doubles, unboxed in one backing store on the V8 heap: 30.5 MiB.
    const length = 4_000_000;
    const MiB = 2 ** 20;
    const measure = async () => {
      const before = await reading();
      let kept: number[] | null = Array.from({ length }, (_, i) => i + 0.5);
      const holding = await reading();
      for (let i = 0; i < 20; i++) void Array.from({ length: length / 20 }, (_, j) => j + 0.25);
      const afterGarbage = await reading();
      const last = kept[length - 1];
      kept = null;
      const released = await reading();
      return { before, last, grew: (holding - before) / MiB, garbage: (afterGarbage - holding) / MiB, fell: (holding - released) / MiB };
    };
    // The heap is the whole worker's: what earlier test files of this jest worker still hold, or let
    // go of, moves it too. A measurement disturbed that way is taken again, up to three times.
    const clean = (m: Awaited<ReturnType<typeof measure>>) => m.grew > 24 && Math.abs(m.garbage) < 8 && m.fell > 24;
    let m = await measure();
    for (let attempt = 1; attempt < 3 && !clean(m); attempt++) {
      console.log(`heap readings disturbed (MiB: grew ${m.grew.toFixed(1)}, garbage ${m.garbage.toFixed(1)}, fell ${m.fell.toFixed(1)}); measuring again`);
      m = await measure();
    }

    expect(m.before).toBeGreaterThan(0);
    expect(m.last).toBe(length - 0.5);
    // MiB: retaining the array raises the reading by its size, garbage does not, letting it go lowers it again.
    expect(m.grew).toBeGreaterThan(24);
    expect(Math.abs(m.garbage)).toBeLessThan(8);
    expect(m.fell).toBeGreaterThan(24);
  });
});
