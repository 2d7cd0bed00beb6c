import type { AppService } from '@anime/stack';
import type { BenchStack } from './bench-stack';
import { rssMiB } from './process-memory';
import { measureWindow, type WindowUse } from './resource-window';
import { runJobs } from './run-jobs';
import { queueRetention, redisMemory, tableRows, type RedisMemory, type Retention } from './soak-stores';
import { sleep } from './waits';

export interface SoakResult {
  jobs: number;
  wallMs: number;
  /** RSS after warm-up (the first WARM_UP_SHARE of the jobs) and at the end, per service. */
  rss: { service: AppService; warm: number | null; end: number | null }[];
  redis: { baseline: RedisMemory; end: RedisMemory; agedOut: RedisMemory | undefined; waitedS: number };
  retention: Record<string, Retention>;
  /** Rows each job left per table (rows added over the soak / jobs). */
  rowsPerJob: Record<string, number>;
  use: WindowUse;
  retried: Record<string, number>;
}

const WARM_UP_SHARE = 0.1;

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
  const rssNow = async () => Object.fromEntries(await Promise.all(bench.services.map(async (s) => [s.name, await rssMiB(s.pid)] as const))) as Record<AppService, number | null>;
  let lastReport = 0;
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
          if (done === warmAt) Object.assign(warm, await rssNow());
          if (done - lastReport >= Math.max(100, options.jobs / 10)) {
            lastReport = done;
            console.error(`bench: soak ${done}/${options.jobs} jobs, ${((done / (performance.now() - started)) * 1000).toFixed(1)} jobs/s`);
          }
        },
      }),
  );
  const wallMs = performance.now() - started;
  const end = await rssNow();
  const redisEnd = await redisMemory(bench.redisUrl, bench.queuePrefix);
  const retention = queueRetention(bench.env);
  const ages = Object.values(retention).flatMap((r) => [r.completeAgeS, r.failAgeS]);
  const longest = ages.some((a) => a === undefined) ? Number.POSITIVE_INFINITY : Math.max(...(ages as number[]));
  let agedOut: RedisMemory | undefined;
  let waitedS = 0;
  if (longest <= MAX_AGE_WAIT_S) {
    // BullMQ removes aged jobs when a later one finishes: wait out the age, then finish a few more.
    waitedS = longest + 1;
    await sleep(waitedS * 1000);
    await runJobs(gateway, bench.apiKey, { count: 4, steps: options.steps, inFlight: 4, submitConcurrency: 4, timeoutMs: options.timeoutMs });
    agedOut = await redisMemory(bench.redisUrl, bench.queuePrefix);
  }
  const rowsAfter = await tableRows(bench.databaseUrl);
  return {
    jobs: use.jobs,
    wallMs,
    rss: bench.services.map((s) => ({ service: s.name, warm: warm[s.name] ?? null, end: end[s.name] })),
    redis: { baseline, end: redisEnd, agedOut, waitedS },
    retention,
    rowsPerJob: Object.fromEntries(Object.keys(rowsAfter).map((t) => [t, (rowsAfter[t] - (rowsBefore[t] ?? 0)) / use.jobs])),
    use,
    retried: result.retried,
  };
}
