import type { BenchStack } from './bench-stack';
import { idleGaps, progressLatencies, promptTimings, sentProgress } from './prompt-timings';
import { measureWindow, type WindowUse } from './resource-window';
import { describeRuns, runJobs } from './run-jobs';
import { summarize, type Summary } from './stats';
import { warmUpStack } from './warm-up';

export interface BacklogResult {
  backends: number;
  jobs: number;
  throughput: number;
  idleGap: Summary;
  /** Every idle gap, to pool them across runs. */
  gaps: number[];
  execution: Summary;
  progress: { latency: Summary; sent: number; received: number };
  use: WindowUse;
  /** What the warm-up before the backlog cost (its own jobs: a fresh stack's first ones). */
  warmUp?: WindowUse;
  /** POSTs the gateway answered 5xx and the client retried, by status. */
  retried: Record<string, number>;
}

/**
 * A backlog submitted at once (POSTs `submitConcurrency` at a time), its wall time from the first
 * POST to the last `job:completed`, and the resources it used; the reads for the backends'
 * timestamps come after the window, so they cost the pipeline nothing measured. Before it, a
 * warm-up outside the window (warmUpStack): a few jobs, or `warmUp` of them.
 */
export async function runBacklog(bench: BenchStack, options: { jobs: number; steps: number; submitConcurrency: number; timeoutMs: number; warmUp?: number }): Promise<BacklogResult> {
  const gateway = bench.stack.gatewayUrl;
  // At least enough to have every backend's connections open and every pool filled.
  const warmUp = await warmUpStack(bench, { jobs: Math.max(4, 2 * bench.simulators.length, options.warmUp ?? 0), submitConcurrency: options.submitConcurrency, timeoutMs: options.timeoutMs });
  const { result, use } = await measureWindow(
    bench,
    (r) => r.runs.length,
    () => runJobs(gateway, bench.apiKey, { count: options.jobs, steps: options.steps, inFlight: options.jobs, submitConcurrency: options.submitConcurrency, timeoutMs: options.timeoutMs }),
  );
  const { runs, progress } = result;
  const wallMs = Math.max(...runs.map((r) => r.completedAt)) - Math.min(...runs.map((r) => r.submittedAt));
  const described = await describeRuns(gateway, bench.apiKey, runs);
  const timings = await promptTimings(described);
  const sent = (await Promise.all(bench.simulators.map((s) => sentProgress(s.url)))).flat();
  const matched = progressLatencies(described, sent, progress);
  const gaps = idleGaps(timings);
  return {
    backends: bench.simulators.length,
    jobs: runs.length,
    throughput: runs.length / (wallMs / 1000),
    idleGap: summarize(gaps),
    gaps,
    execution: summarize(timings.map((t) => t.finishedAt - t.startedAt)),
    progress: { latency: summarize(matched.latencies), sent: matched.sent, received: matched.received },
    use,
    ...(warmUp ? { warmUp } : {}),
    retried: result.retried,
  };
}
