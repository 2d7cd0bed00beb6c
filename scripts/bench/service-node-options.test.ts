import { RUNTIME_ENV } from '@anime/stack';
import { serviceNodeOptions } from './service-node-options';

describe('serviceNodeOptions', () => {
  it('adds nothing when BENCH_SERVICE_NODE_OPTIONS is unset or blank', () => {
    expect(serviceNodeOptions({})).toEqual({});
    expect(serviceNodeOptions({ BENCH_SERVICE_NODE_OPTIONS: '  ' })).toEqual({});
  });

  it("appends the extra flags to the runtime's NODE_OPTIONS", () => {
    expect(serviceNodeOptions({ BENCH_SERVICE_NODE_OPTIONS: '--cpu-prof' })).toEqual({ NODE_OPTIONS: `${RUNTIME_ENV.NODE_OPTIONS} --cpu-prof` });
  });

  it("appends them to the caller's NODE_OPTIONS when set, even an empty one", () => {
    expect(serviceNodeOptions({ NODE_OPTIONS: '--max-old-space-size=512', BENCH_SERVICE_NODE_OPTIONS: '--cpu-prof' })).toEqual({ NODE_OPTIONS: '--max-old-space-size=512 --cpu-prof' });
    expect(serviceNodeOptions({ NODE_OPTIONS: '', BENCH_SERVICE_NODE_OPTIONS: '--cpu-prof' })).toEqual({ NODE_OPTIONS: '--cpu-prof' });
  });
});
