import { measureYardstick } from './machine-speed';

describe('the machine-speed yardstick', () => {
  it('when measured, then it reports the CPU and wall time of its fixed workload, the median of its rounds', () => {
    // A hundredth of it: under jest's sandbox the workload runs tens of times slower than in the bench.
    const run = measureYardstick(3, 0.01);
    expect(run.cpuMs).toBeGreaterThan(0);
    expect(run.wallMs).toBeGreaterThan(0);
    // Single-threaded: its CPU time cannot much exceed its wall time.
    expect(run.cpuMs).toBeLessThan(run.wallMs * 1.5 + 5);
  });
});
