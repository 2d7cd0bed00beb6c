import type { AppService } from '@anime/stack';
import type { BenchStack } from './bench-stack';
import { measureWindow, type WindowUse } from './resource-window';
import { committedHeapWindow, heapWindow, memoryWindow, readEachService, sampleEvery, sampleRss, servicesRss, type HeapWindow, type MemoryWindow } from './memory-windows';
import { runJobs } from './run-jobs';
import { readHeap } from './service-metrics';
import { queueRetention, redisMemory, tableRows, type RedisMemory, type Retention } from './soak-stores';
import { sleep } from './waits';

export interface SoakResult {
  jobs: number;
  wallMs: number;
  /**
   * RSS after warm-up and at the end, per service: `warm` and `end` are the medians of the readings
   * taken while jobs WARM_UP_SHARE to WARM_UP_SHARE + WINDOW_SHARE, and the last WINDOW_SHARE of them, completed.
   */
  rss: {
    service: AppService;
    warm: number | null;
    end: number | null;
    windows?: { warm: MemoryWindow; end: MemoryWindow };
    /**
     * The heap the service kept after its major collections (MiB, from its /metrics), over the same
     * windows: what it retains, which RSS (following the heap V8 reserves) does not tell apart.
     */
    heapAfterGc?: { warm: HeapWindow; end: HeapWindow };
    /** The heap V8 held over the same windows (MiB, from its /metrics): RSS minus it is what lies outside V8's heap (code, malloc, buffers). */
    heapCommitted?: { warm: MemoryWindow; end: MemoryWindow };
    /** The single readings the soak used to compare: as the WARM_UP_SHARE-th job completed, and as the last did. */
    single?: { warm: number | null; end: number | null };
    /** Idle, once the finished jobs' age-out wait is over (redis.waitedS after the last job; undefined when the bench does not wait). */
    idle?: number | null;
  }[];
  redis: { baseline: RedisMemory; end: RedisMemory; agedOut: RedisMemory | undefined; waitedS: number };
  retention: Record<string, Retention>;
  /** Rows each job left per table (rows added over the soak / jobs). */
  rowsPerJob: Record<string, number>;
  use: WindowUse;
  retried: Record<string, number>;
}

const WARM_UP_SHARE = 0.1;
/**
 * The share of the jobs each RSS window spans (after warm-up: jobs 10–30 %; at the end: the last
 * 20 %): in a 10,000-job soak a major-collection cycle of a service takes 1,500–2,500 jobs, and a
 * window shorter than a cycle gives a median that still depends on where in it the window falls.
 */
const WINDOW_SHARE = 0.2;
/** How often each service's RSS is read (from /proc) during the soak. */
const RSS_EVERY_MS = 1_000;
/**
 * How often each service's heap (after its latest major collection, and held now) is read from its
 * /metrics: a scrape costs the service a little CPU, and a 20-s window still gets about ten readings.
 */
const HEAP_EVERY_MS = 2_000;

/**
 * The soak's stack keeps finished queue jobs 30 s instead of the default 1 h (completed) and 7 days
 * (failed), through the same variables an operator sets, so the bench can wait them out and show
 * Redis back near its baseline; the count bounds (1,000 and 5,000 per queue) are the defaults.
 */
export const SOAK_RETENTION_ENV = { QUEUE_KEEP_COMPLETED_S: '30', QUEUE_KEEP_FAILED_S: '30' };
/** Finished jobs age out only when a later job finishes; the bench waits for an age at most this long. */
const MAX_AGE_WAIT_S = 120;

/** N jobs in a steady stream (`window` in flight): memory of each service, Redis and PostgreSQL over it. */
export async function soakScenario(bench: BenchStack, options: { jobs: number; window: number; steps: number; submitConcurrency: number; timeoutMs: number }): Promise<SoakResult> {
  const gateway = bench.stack.gatewayUrl;
  const baseline = await redisMemory(bench.redisUrl, bench.queuePrefix);
  const rowsBefore = await tableRows(bench.databaseUrl);
  const warmAt = Math.max(1, Math.ceil(options.jobs * WARM_UP_SHARE));
  const warm: Partial<Record<AppService, number | null>> = {};
  let lastReport = 0;
  let completed = 0;
  const sampler = sampleRss(bench.services, RSS_EVERY_MS, () => completed);
  const heapSampler = sampleEvery(
    bench.services.map((s) => s.name),
    HEAP_EVERY_MS,
    () => completed,
    () => readEachService(bench.services, (s) => readHeap(bench.metrics[s.name])),
  );
  const started = performance.now();
  const { result, use } = await measureWindow(
    bench,
    (r) => r.runs.length,
    () =>
      runJobs(gateway, bench.apiKey, {
        count: options.jobs,
        steps: options.steps,
        inFlight: options.window,
        submitConcurrency: options.submitConcurrency,
        timeoutMs: options.timeoutMs,
        onCompleted: async (done) => {
          completed = done;
          if (done === warmAt) Object.assign(warm, await sampler.add(done));
          if (done - lastReport >= Math.max(100, options.jobs / 10)) {
            lastReport = done;
            console.error(`bench: soak ${done}/${options.jobs} jobs, ${((done / (performance.now() - started)) * 1000).toFixed(1)} jobs/s`);
          }
        },
      }),
  ).finally(() => {
    sampler.stop();
    heapSampler.stop();
  });
  const wallMs = performance.now() - started;
  const end = await sampler.add(use.jobs);
  await heapSampler.add(use.jobs);
  const samples = sampler.stop();
  const heapSamples = heapSampler.stop();
  const redisEnd = await redisMemory(bench.redisUrl, bench.queuePrefix);
  const retention = queueRetention(bench.env);
  const ages = Object.values(retention).flatMap((r) => [r.completeAgeS, r.failAgeS]);
  const longest = ages.some((a) => a === undefined) ? Number.POSITIVE_INFINITY : Math.max(...(ages as number[]));
  let agedOut: RedisMemory | undefined;
  let idle: Record<AppService, number | null> | undefined;
  let waitedS = 0;
  if (longest <= MAX_AGE_WAIT_S) {
    // BullMQ removes aged jobs when a later one finishes: wait out the age, then finish a few more.
    waitedS = longest + 1;
    await sleep(waitedS * 1000);
    idle = await servicesRss(bench.services);
    await runJobs(gateway, bench.apiKey, { count: 4, steps: options.steps, inFlight: 4, submitConcurrency: 4, timeoutMs: options.timeoutMs });
    agedOut = await redisMemory(bench.redisUrl, bench.queuePrefix);
  }
  const rowsAfter = await tableRows(bench.databaseUrl);
  return {
    jobs: use.jobs,
    wallMs,
    rss: bench.services.map((s) => {
      const span = Math.max(1, Math.round(use.jobs * WINDOW_SHARE));
      const windows = { warm: memoryWindow(samples[s.name], warmAt, warmAt + span), end: memoryWindow(samples[s.name], use.jobs - span, use.jobs) };
      const heapAfterGc = { warm: heapWindow(heapSamples[s.name], warmAt, warmAt + span), end: heapWindow(heapSamples[s.name], use.jobs - span, use.jobs) };
      const heapCommitted = { warm: committedHeapWindow(heapSamples[s.name], warmAt, warmAt + span), end: committedHeapWindow(heapSamples[s.name], use.jobs - span, use.jobs) };
      return { service: s.name, warm: windows.warm.median, end: windows.end.median, windows, heapAfterGc, heapCommitted, single: { warm: warm[s.name] ?? null, end: end[s.name] }, idle: idle?.[s.name] };
    }),
    redis: { baseline, end: redisEnd, agedOut, waitedS },
    retention,
    rowsPerJob: Object.fromEntries(Object.keys(rowsAfter).map((t) => [t, (rowsAfter[t] - (rowsBefore[t] ?? 0)) / use.jobs])),
    use,
    retried: result.retried,
  };
}
