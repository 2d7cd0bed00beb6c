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
});
