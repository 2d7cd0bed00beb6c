import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
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
    // Read in a process of its own (test/fixtures/heap-after-gc-readings.ts), as a service reads it:
    // in a test worker the heap is the whole worker's, what earlier test files hold or let go of moved
    // the readings, and each full collection walked that heap (a loaded CI ran past the timeout).
    const script = path.join(__dirname, '..', '..', 'test', 'fixtures', 'heap-after-gc-readings.ts');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', script], { timeout: 50_000 });
    if (stderr) console.log(stderr);
    const m = JSON.parse(stdout) as { before: number; last: number; grew: number; garbage: number; fell: number };

    expect(m.before).toBeGreaterThan(0);
    // The last of the 4 million doubles the fixture retained.
    expect(m.last).toBe(4_000_000 - 0.5);
    // MiB: retaining the array raises the reading by its size, garbage does not, letting it go lowers it again.
    expect(m.grew).toBeGreaterThan(24);
    expect(Math.abs(m.garbage)).toBeLessThan(8);
    expect(m.fell).toBeGreaterThan(24);
  });
});
