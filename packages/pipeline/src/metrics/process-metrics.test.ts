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

    const before = await reading();
    // 4 million doubles, unboxed in one backing store on the V8 heap: at least 30.5 MiB, whatever the engine's string layouts.
    const length = 4_000_000;
    let kept: number[] | null = Array.from({ length }, (_, i) => i + 0.5);
    const holding = await reading();
    for (let i = 0; i < 20; i++) void Array.from({ length: length / 20 }, (_, j) => j + 0.25);
    const afterGarbage = await reading();
    expect(kept[length - 1]).toBe(length - 0.5);
    kept = null;
    const released = await reading();

    const MiB = 2 ** 20;
    expect(before).toBeGreaterThan(0);
    expect(holding - before).toBeGreaterThan(24 * MiB);
    expect(Math.abs(afterGarbage - holding)).toBeLessThan(8 * MiB);
    expect(holding - released).toBeGreaterThan(24 * MiB);
  });
});

