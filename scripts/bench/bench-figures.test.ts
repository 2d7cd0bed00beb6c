import { coresBusyPercent, cpuCeiling, figureTable, formatValue, growthPercent, measuredText, scalingEfficiency, verdict, type Figure } from './figures';
import { commandOfStat, contextSwitches, contextSwitchesFromStatus, cpuMsFromStat, cpuMsOfProcessTree, cpuMsWithChildrenFromStat, parentOfStat } from './process-memory';
import { commandCallsFromInfo, commandsPerJob } from './redis-commands';
import { idleGaps, progressLatencies } from './prompt-timings';
import { parseBenchArgs } from './bench-args';
import { figuresOf, renderReport, redisCommandsLine, retriedLine, servicesFloorLine, warmUpCostLine, worstScaling } from './report';
import { gcMsPer } from './resource-window';
import { metricValue } from './service-metrics';
import { deltaPer, percentile, sumKnown, summarize } from './stats';

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

describe('PASS and FAIL', () => {
  const figure = (measured: number | undefined, bound: Figure['bound'] = 'max'): Figure => ({ figure: 'f', measured, unit: 'ms', bound, limit: 25 });

  it('when a ceiling is met exactly or a floor is reached, then the figure passes; past it, it fails', () => {
    expect(verdict(figure(25))).toBe('PASS');
    expect(verdict(figure(25.1))).toBe('FAIL');
    expect(verdict(figure(25, 'min'))).toBe('PASS');
    expect(verdict(figure(24.9, 'min'))).toBe('FAIL');
  });

  it('when a scenario yielded no sample, then it fails; when it did not run, it says so', () => {
    expect(verdict(figure(Number.NaN))).toBe('FAIL');
    expect(verdict(figure(undefined))).toBe('not run');
    expect(verdict({ ...figure(0), failure: 'kept 24 h' })).toBe('FAIL');
  });

  it('when the table is written, then each row has the measured value, the target and the verdict', () => {
    const rows = figureTable([
      { figure: 'overhead p50', measured: 46.74, unit: 'ms', bound: 'max', limit: 25 },
      { figure: 'throughput', measured: 212.3, unit: 'jobs/s', bound: 'min', limit: 200 },
      { figure: 'soak', measured: undefined, unit: '%', bound: 'max', limit: 10 },
      { figure: 'redis', measured: 3, unit: 'MiB', bound: 'max', limit: 1, failure: 'kept 24 h' },
    ]);
    expect(rows).toEqual([
      '| figure | measured | target | verdict |',
      '|---|---|---|---|',
      '| overhead p50 | 46.7 ms | ≤ 25.0 ms | FAIL |',
      '| throughput | 212.3 jobs/s | ≥ 200.0 jobs/s | PASS |',
      '| soak | – | ≤ 10.0 % | not run |',
      '| redis | 3.0 MiB | ≤ 1.0 MiB | FAIL: kept 24 h |',
    ]);
    expect(formatValue(0.9, '×')).toBe('0.90 ×');
    expect(formatValue(Number.NaN, 'ms')).toBe('no sample');
    // A value that would round to its target, on the wrong side of it, shows the decimals that tell them apart.
    const scaling = (measured: number): Figure => ({ figure: 'scaling', measured, unit: '×', bound: 'min', limit: 0.9 });
    expect(measuredText(scaling(0.8974))).toBe('0.897 ×');
    expect(measuredText(scaling(0.89999))).toBe('0.89999 ×');
    // At most three more decimals.
    expect(measuredText(scaling(0.8999999))).toBe('0.90000 ×');
    expect(measuredText(scaling(0.9))).toBe('0.90 ×');
    expect(measuredText(scaling(0.87))).toBe('0.87 ×');
    expect(measuredText({ figure: 'p99', measured: 10.04, unit: 'ms', bound: 'max', limit: 10 })).toBe('10.04 ms');
    expect(figureTable([scaling(0.8974)])[2]).toBe('| scaling | 0.897 × | ≥ 0.90 × | FAIL |');
  });

  it('when k backends are compared with one, then the worst k > 1 is the scaling figure', () => {
    const ratios = scalingEfficiency([
      { backends: 1, throughput: 10 },
      { backends: 2, throughput: 19 },
      { backends: 4, throughput: 30 },
    ]);
    expect(ratios).toEqual([
      { backends: 1, ratio: 1 },
      { backends: 2, ratio: 0.95 },
      { backends: 4, ratio: 0.75 },
    ]);
    expect(worstScaling(ratios)).toBe(0.75);
    expect(worstScaling([{ backends: 1, ratio: 1 }])).toBeNaN();
    expect(worstScaling(scalingEfficiency([{ backends: 2, throughput: 5 }]))).toBeNaN();
  });

  it('when growth and CPU ceilings are computed, then they follow the measurements', () => {
    expect(growthPercent(200, 220)).toBeCloseTo(10);
    expect(growthPercent(null, 220)).toBeNaN();
    expect(cpuCeiling(2, 31)).toBeCloseTo(64.5, 1);
    // 31 ms per job at 32 jobs/s on 2 cores: 992 ms of CPU each second out of 2,000.
    expect(coresBusyPercent(2, 31, 32)).toBeCloseTo(49.6, 1);
  });
});

describe('reading the measurements', () => {
  it('when /proc/<pid>/stat is read, then utime + stime are in ms, even with spaces in the command name', () => {
    const stat = '4242 (node dist/ma) in) S 1 4242 4242 0 -1 4194560 9126 0 0 0 1234 56 0 0 20 0 11 0 123456 1 2 3';
    expect(cpuMsFromStat(stat)).toBe(12900);
  });

  it('when a store is measured from /proc, then reaped children count (an exited connection backend lands in its postmaster), and a process is found with its parent and command', async () => {
    const postmaster = '2195 (postgres) S 1 2195 2195 0 -1 4194560 9126 0 0 0 1234 56 700 44 20 0 1 0 123456 1 2 3';
    expect(cpuMsWithChildrenFromStat(postmaster)).toBe(20340);
    expect(commandOfStat('4242 (node dist/ma) in) S 1')).toBe('node dist/ma) in');
    expect(parentOfStat('4242 (node dist/ma) in) S 17 4242')).toBe(17);
    // This process (jest's worker) has used CPU; a process that is not there reads as unknown.
    expect(await cpuMsOfProcessTree(process.pid)).toBeGreaterThan(0);
    expect(await cpuMsOfProcessTree(2 ** 30)).toBeNull();
    expect(await cpuMsOfProcessTree(null)).toBeNull();
  });

  it('when context switches are read, then voluntary and forced ones of every thread count, from /proc', async () => {
    expect(contextSwitchesFromStatus('Name:\tnode\nThreads:\t11\nvoluntary_ctxt_switches:\t1200\nnonvoluntary_ctxt_switches:\t34\n')).toBe(1234);
    expect(contextSwitchesFromStatus('Name:\tnode\n')).toBe(0);
    // This process (jest's worker) has switched at least once; a process that is not there reads as unknown.
    expect(await contextSwitches(process.pid)).toBeGreaterThan(0);
    expect(await contextSwitches(2 ** 30)).toBeNull();
  });

  it('when Redis commands are counted, then INFO commandstats gives each command\'s calls, and a window gives them per job, the most frequent first', () => {
    const before = commandCallsFromInfo('# Commandstats\r\ncmdstat_evalsha:calls=100,usec=900,usec_per_call=9.00,rejected_calls=0,failed_calls=0\r\ncmdstat_publish:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n');
    expect(before).toEqual({ evalsha: 100, publish: 10 });
    const after = { evalsha: 300, publish: 10, xadd: 150, 'client|setname': 2 };
    expect(commandsPerJob(before, after, 50)).toEqual([
      { command: 'evalsha', perJob: 4 },
      { command: 'xadd', perJob: 3 },
      { command: 'client|setname', perJob: 0.04 },
    ]);
    expect(commandsPerJob(null, after, 50)).toBeNull();
    expect(redisCommandsLine(commandsPerJob(before, after, 50), 2)).toEqual([
      'Redis ran 7.0 commands per job over the window (INFO commandstats, the whole server\'s): evalsha 4.0, xadd 3.0, 1 other command 0.0. BullMQ\'s scripts run as evalsha.',
      '',
    ]);
    expect(redisCommandsLine(null)).toEqual([]);
  });

  it('when a Prometheus exposition is read, then a metric is the sum of its samples, and a longer name is not mistaken for it', () => {
    const text = [
      '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
      '# TYPE process_cpu_seconds_total counter',
      'process_cpu_seconds_total{service="gateway"} 1.5',
      'process_cpu_seconds_total_extra 99',
      'anime_db_statements_total 120',
    ].join('\n');
    expect(metricValue(text, 'process_cpu_seconds_total')).toBe(1.5);
    expect(metricValue(text, 'anime_db_statements_total')).toBe(120);
    expect(metricValue(text, 'absent_total')).toBeNaN();
  });

  it('when GC pauses are read, then every kind\'s sum counts, and neither the buckets nor the count do', () => {
    const text = [
      'nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 90',
      'nodejs_gc_duration_seconds_sum{kind="minor"} 0.25',
      'nodejs_gc_duration_seconds_count{kind="minor"} 100',
      'nodejs_gc_duration_seconds_sum{kind="major"} 0.125',
      'nodejs_gc_duration_seconds_sum{kind="incremental"} 0.0625',
    ].join('\n');
    expect(metricValue(text, 'nodejs_gc_duration_seconds_sum')).toBe(0.4375);
    // One kind alone, by its label: the major collections' sum, none of a kind not exposed.
    expect(metricValue(text, 'nodejs_gc_duration_seconds_sum', 'kind="major"')).toBe(0.125);
    expect(metricValue(text, 'nodejs_gc_duration_seconds_count', 'kind="major"')).toBeNaN();
    // Shown once a pause was observed: absent before is none yet; absent after is not exposed.
    expect(gcMsPer(Number.NaN, 30, 10)).toBe(3);
    expect(gcMsPer(10, 30, 10)).toBe(2);
    expect(gcMsPer(10, Number.NaN, 10)).toBeNull();
  });

  it('when progress is matched, then each received tick is paired with the same prompt, node and value sent, and collapsed ticks count as sent only', () => {
    const runs = [{ id: 'job-1', promptId: 'p1', backend: 'b', submittedAt: 0, completedAt: 0 }];
    const sent = [
      { promptId: 'p1', node: '3', value: 1, max: 2, sentAt: 1000 },
      { promptId: 'p1', node: '3', value: 2, max: 2, sentAt: 1040 },
      { promptId: 'other', node: '3', value: 1, max: 2, sentAt: 1000 },
    ];
    const received = [
      { jobId: 'job-1', node: '3', value: 2, max: 2, receivedAt: 1042.5 },
      { jobId: 'job-unknown', node: '3', value: 1, max: 2, receivedAt: 1001 },
    ];
    expect(progressLatencies(runs, sent, received)).toEqual({ latencies: [2.5], sent: 2, received: 1 });
  });
});

describe('the report', () => {
  const machine = { cores: 2, model: 'Test CPU', memoryGiB: 24, node: 'v20.0.0', load: 0.5 };

  it('when nothing ran, then every figure of issue #17 is still listed with its target, as not run', () => {
    const figures = figuresOf({ machine, args: parseBenchArgs([]), services: 'test' });
    expect(figures.map((f) => f.figure)).toEqual([
      'overhead per job p50 (sequential, 1 backend)',
      'overhead per job p99 (sequential, 1 backend)',
      'throughput, 4 × 1 step × 1 ms, 2000-job backlog',
      'throughput vs a minimal client on the same simulators',
      'scaling: worst k of 1, 2, 4, 8 (throughput / (k × 1 backend))',
      'backend idle gap between prompts under backlog p50',
      'backend idle gap between prompts under backlog p99',
      'progress latency p50 (simulator → Socket.IO client)',
      'progress latency p99 (simulator → Socket.IO client)',
      'CPU per job, four services together (throughput window)',
      'soak: gateway RSS growth after warm-up',
      'soak: character RSS growth after warm-up',
      'soak: orchestrator RSS growth after warm-up',
      'soak: file-organizer RSS growth after warm-up',
      "soak: Redis held by the bench's queues once finished jobs aged out, over baseline (the generation-events history aside)",
    ]);
    expect(renderReport({ machine, args: parseBenchArgs([]), services: 'test' })).toContain('2 × Test CPU, 24 GiB, Node v20.0.0');
  });

  it('when the file system was measured before any stack, then the report says what a filing cost at the start; unmeasured, it says nothing of it', () => {
    const filingAtStart = { filings: 300, imageBytes: 2700, sidecarBytes: 4500, cpuMsPerFiling: 1.234 };
    expect(renderReport({ machine, args: parseBenchArgs([]), services: 'test', filingAtStart })).toContain(
      'Before any stack started, an image of 2700 bytes and its sidecar of 4500 bytes written 300 times as the file-organizer writes them cost 1.23 ms of CPU per filing',
    );
    expect(renderReport({ machine, args: parseBenchArgs([]), services: 'test' })).not.toContain('Before any stack started');
  });

  it('when the machine\'s speed was read before and after, then the report gives both times of the same workload; unread, it says nothing of it', () => {
    const speed = { start: { cpuMs: 164.8, wallMs: 170 }, end: { cpuMs: 181.2, wallMs: 190 } };
    const text = renderReport({ machine, args: parseBenchArgs([]), services: 'test', speed });
    expect(text).toContain('took 165 ms of CPU before the first stack and 181 ms after the last (lower is faster)');
    expect(renderReport({ machine, args: parseBenchArgs([]), services: 'test' })).not.toContain('Machine speed');
  });

  it('when finished jobs are kept longer than a bench can wait, then the Redis figure fails and says which bound applies', () => {
    const memory = (prefixMiB: number) => ({ usedMiB: 10, prefixMiB, eventsStreamMiB: 0, finished: { 'asset-filing': 5 } });
    const use = { jobs: 10, services: [], totalCpuMsPerJob: 1, totalStatementsPerJob: 1, simulatorsCpuMsPerJob: 1, clientCpuMsPerJob: 1, postgresCpuMsPerJob: 1, redisCpuMsPerJob: 1 };
    const soak = {
      jobs: 10,
      wallMs: 1000,
      rss: [{ service: 'gateway' as const, warm: 100, end: 105 }],
      redis: { baseline: memory(0), end: memory(0.5), agedOut: undefined, waitedS: 0 },
      retention: { 'asset-filing': { completeAgeS: 86400, completeCount: 5000, failAgeS: 604800, failCount: 20000 } },
      rowsPerJob: { job_events: 4 },
      use,
      retried: {},
    };
    const figures = figuresOf({ machine, args: parseBenchArgs(['--soak', '10']), services: 'test', soak });
    const redis = figures[figures.length - 1];
    expect(verdict(redis)).toBe('FAIL');
    expect(redis.failure).toContain('completed up to 24 h, at most 5,000, failed up to 168 h, at most 20,000 per queue');
    expect(verdict(figures.find((f) => f.figure === 'soak: gateway RSS growth after warm-up')!)).toBe('PASS');
    expect(verdict(figures.find((f) => f.figure === 'soak: character RSS growth after warm-up')!)).toBe('not run');
  });

  it('when the soak read the heap V8 holds, then its table shows the medians after warm-up and at the end beside the heap kept after collections', () => {
    const memory = { usedMiB: 10, prefixMiB: 0, eventsStreamMiB: 0, finished: {} };
    const use = { jobs: 10, services: [], totalCpuMsPerJob: 1, totalStatementsPerJob: 1, simulatorsCpuMsPerJob: 1, clientCpuMsPerJob: 1, postgresCpuMsPerJob: 1, redisCpuMsPerJob: 1 };
    const window = (median: number) => ({ median, min: median - 5, max: median + 5, samples: 10 });
    const gateway = {
      service: 'gateway' as const,
      warm: 200,
      end: 230,
      heapAfterGc: { warm: { ...window(54), collections: 2 }, end: { ...window(55), collections: 0 } },
      heapCommitted: { warm: window(104), end: window(131) },
    };
    const soak = { jobs: 10, wallMs: 1000, rss: [gateway], redis: { baseline: memory, end: memory, agedOut: memory, waitedS: 31 }, retention: {}, rowsPerJob: {}, use, retried: {} };
    const text = renderReport({ machine, args: parseBenchArgs(['--soak', '10']), services: 'test', soak });
    expect(text).toContain('| heap kept after major collections: after warm-up → end (growth) | heap V8 holds (medians): after warm-up → end |');
    expect(text).toContain('| 54.0 → 55.0 MiB (1.9 %; 2 and 0 major collections in the windows) | 104 → 131 MiB (27 MiB) |');
  });

  it('when the floors were measured, then the leanest pipeline adds the simulators, the minimal client, the queue and database floor and the filing floor, and the warm-up is named', () => {
    const use = { jobs: 2000, services: [], totalCpuMsPerJob: 17, totalStatementsPerJob: 10, simulatorsCpuMsPerJob: 7, clientCpuMsPerJob: 2.5, postgresCpuMsPerJob: 6, redisCpuMsPerJob: 1.5 };
    const pipeline = { backends: 4, jobs: 2000, throughput: 55, idleGap: summarize([1]), gaps: [1], execution: summarize([13]), progress: { latency: summarize([1]), sent: 0, received: 0 }, use, retried: {} };
    const throughput = {
      pipeline,
      direct: { jobsPerSecond: 240, simulatorsCpuMsPerJob: 5, clientCpuMsPerJob: 2 },
      floor: { jobs: 2000, jobsPerSecond: 600, processCpuMsPerJob: 1.5, postgresCpuMsPerJob: 0.5, redisCpuMsPerJob: 0.5 },
      filing: { filings: 2000, imageBytes: 2661, sidecarBytes: 4537, cpuMsPerFiling: 2 },
    };
    const text = renderReport({ machine, args: parseBenchArgs(['--only', 'throughput']), services: 'test', throughput });
    expect(text).toContain('POSTs 32 at a time, after 2000 one-step jobs that warmed the stack up (not measured).');
    expect(text).toContain('The filing floor (an image of 2661 bytes and its sidecar of 4537 bytes');
    // 5 + 2 + (1.5 + 0.5 + 0.5) + 2 = 11.5 ms: 2 cores ÷ 11.5 ms = 173.9 jobs/s, against 0.75 × 240 = 180 asked.
    expect(text).toContain('would cost 11.50 ms of CPU per job here (simulators 5.00 + the minimal client 2.00 + the queue and database floor 2.50 + the filing floor 2.00): at most 173.9 jobs/s on these 2 cores');
    expect(text).toContain('against the 200.0 jobs/s the throughput targets ask');
    // Everything: services 17 + simulators and client 7 + 2.5 = 9.5 + PostgreSQL and Redis 7.5 = 34 ms per job.
    expect(text).toContain('CPU ceiling of this machine: 2 cores ÷ 34.00 ms per job');
    expect(text).toContain('200 jobs/s would take at most 10.00 ms of CPU per job from all of them together.');
    expect(renderReport({ machine, args: parseBenchArgs(['--only', 'throughput', '--warm-up', '0']), services: 'test', throughput: { ...throughput, filing: undefined } })).toContain('after a few warm-up jobs only (a cold stack)');
  });

  it('when a window was measured, then each service\'s GC pauses per job stand beside its CPU, summed over the services where each is known', () => {
    const service = (name: 'gateway' | 'orchestrator', cpu: number, gc: number | null) => ({ service: name, cpuMsPerJob: cpu, gcMsPerJob: gc, statementsPerJob: 4, switchesPerJob: 10, rssBefore: 100, rssAfter: 101 });
    const use = { jobs: 2000, services: [service('gateway', 3, 0.25), service('orchestrator', 4, 0.5)], totalCpuMsPerJob: 7, totalStatementsPerJob: 8, simulatorsCpuMsPerJob: 5, clientCpuMsPerJob: 2, postgresCpuMsPerJob: 4, redisCpuMsPerJob: 1 };
    const pipeline = { backends: 4, jobs: 2000, throughput: 90, idleGap: summarize([1]), gaps: [1], execution: summarize([8]), progress: { latency: summarize([1]), sent: 0, received: 0 }, use, retried: {} };
    const throughput = { pipeline, direct: { jobsPerSecond: 400, simulatorsCpuMsPerJob: 3, clientCpuMsPerJob: 1 } };
    const text = renderReport({ machine, args: parseBenchArgs(['--only', 'throughput']), services: 'test', throughput });
    expect(text).toContain('| gateway | 3.00 ms | 0.25 ms | 4.0 | 10.0 | 100 MiB | 101 MiB |');
    expect(text).toContain('| **four services** | **7.00 ms** | **0.75 ms** | **8.0** | **20.0** | | |');
    const unknown = { ...use, services: [service('gateway', 3, 0.25), service('orchestrator', 4, null)] };
    expect(renderReport({ machine, args: parseBenchArgs(['--only', 'throughput']), services: 'test', throughput: { ...throughput, pipeline: { ...pipeline, use: unknown } } })).toContain('| **four services** | **7.00 ms** | **– ms** |');
  });

  it('when the floors were measured, then the services\' own share of them is set against the CPU target: what it leaves, or by how much it is below', () => {
    const use = { jobs: 2000, services: [], totalCpuMsPerJob: 17, totalStatementsPerJob: 10, simulatorsCpuMsPerJob: 7, clientCpuMsPerJob: 2.5, postgresCpuMsPerJob: 6, redisCpuMsPerJob: 1.5 };
    const pipeline = { backends: 4, jobs: 2000, throughput: 55, idleGap: summarize([1]), gaps: [1], execution: summarize([13]), progress: { latency: summarize([1]), sent: 0, received: 0 }, use, retried: {} };
    const floor = { jobs: 2000, jobsPerSecond: 600, processCpuMsPerJob: 2.5, postgresCpuMsPerJob: 1, redisCpuMsPerJob: 1 };
    const throughput = { pipeline, direct: { jobsPerSecond: 240, simulatorsCpuMsPerJob: 5, clientCpuMsPerJob: 3 }, floor, filing: { filings: 2000, imageBytes: 2661, sidecarBytes: 4537, cpuMsPerFiling: 1.25 } };
    // 2.5 + 3 + 1.25 = 6.75 of the 8 ms: 1.25 left.
    expect(servicesFloorLine(throughput)[0]).toContain('the queue and database floor\'s process 2.50 + the minimal client 3.00 (each prompt\'s POST, WebSocket and history) + the filing floor 1.25 = 6.75 ms per job, against the ≤ 8 ms the CPU target allows them and the 17.00 ms they spent: the target leaves 1.25 ms per job for everything else they do.');
    // 4 + 3 + 2 = 9: above the target before anything else.
    expect(servicesFloorLine({ ...throughput, floor: { ...floor, processCpuMsPerJob: 4 }, filing: { ...throughput.filing, cpuMsPerFiling: 2 } })[0]).toContain('= 9.00 ms per job, against the ≤ 8 ms the CPU target allows them and the 17.00 ms they spent: the target is below it by 1.00 ms per job before anything else they do.');
    expect(servicesFloorLine({ ...throughput, floor: undefined })).toEqual([]);
    expect(renderReport({ machine, args: parseBenchArgs(['--only', 'throughput']), services: 'test', throughput })).toContain('Of that, the four services\' own share');
  });

  it('when the backlog had a warm-up, then the report sets what its jobs cost against the measured ones; without one, nothing', () => {
    const use = (cpu: number, jobs: number) => ({ jobs, services: [], totalCpuMsPerJob: cpu, totalStatementsPerJob: 10, simulatorsCpuMsPerJob: 7, clientCpuMsPerJob: 2.5, postgresCpuMsPerJob: 6, redisCpuMsPerJob: 1.5 });
    const backlog = { backends: 4, jobs: 2000, throughput: 55, idleGap: summarize([1]), gaps: [1], execution: summarize([13]), progress: { latency: summarize([1]), sent: 0, received: 0 }, use: use(17.25, 2000), retried: {} };
    expect(warmUpCostLine({ ...backlog, warmUp: use(31.5, 500) })).toEqual([
      'The 500 warm-up jobs before the backlog, a fresh stack\'s first, cost the four services 31.50 ms of CPU per job (V8 compiles their code meanwhile), against 17.25 ms in the measured backlog.',
    ]);
    expect(warmUpCostLine(backlog)).toEqual([]);
  });

  it('when the overhead and scaling stacks ran, then the report names the warm-up each had, or a cold stack', () => {
    const summary = summarize([40]);
    const overhead = { jobs: 50, overhead: summary, execution: summary, stages: [], progress: { latency: summary, sent: 0, received: 0 }, retried: {} };
    const use = { jobs: 30, services: [], totalCpuMsPerJob: 40, totalStatementsPerJob: 10, simulatorsCpuMsPerJob: 7, clientCpuMsPerJob: 2.5, postgresCpuMsPerJob: 6, redisCpuMsPerJob: 1.5 };
    const scaling = [{ backends: 1, jobs: 30, throughput: 4.7, idleGap: summary, gaps: [0], execution: summary, progress: { latency: summary, sent: 0, received: 0 }, use, retried: {} }];
    const warm = renderReport({ machine, args: parseBenchArgs(['--only', 'overhead,scaling', '--backends', '1', '--warm-up', '200']), services: 'test', overhead, scaling });
    expect(warm).toContain('50 sequential jobs, 5 steps × 40 ms, one backend, after 200 one-step jobs that warmed the stack up (not measured).');
    expect(warm).toContain('simulators at 5 steps × 40 ms, each stack after 200 one-step jobs that warmed the stack up (not measured).');
    const cold = renderReport({ machine, args: parseBenchArgs(['--only', 'overhead', '--warm-up', '0']), services: 'test', overhead });
    expect(cold).toContain('one backend, after a few warm-up jobs only (a cold stack).');
  });

  it('when POSTs were retried after a 5xx, then the report says how many, by status; otherwise nothing', () => {
    expect(retriedLine({})).toEqual([]);
    expect(retriedLine({ '500': 3, 'no answer': 1 })[0]).toContain('500 × 3, no answer × 1');
  });

  it('when a counter is read before and after (idle CPU per second, CPU per job), then its rate is the growth per unit, unknown where /proc was not read', () => {
    expect(deltaPer(1_000, 1_150, 10)).toBeCloseTo(15);
    expect(deltaPer(null, 1_150, 10)).toBeNull();
    expect(deltaPer(1_000, null, 10)).toBeNull();
    expect(sumKnown([1.5, 2, 0])).toBe(3.5);
    expect(sumKnown([1.5, null])).toBeNull();
    expect(deltaPer(1_000, 1_000, 0)).toBeNull();
  });
});
