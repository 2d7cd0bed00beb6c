import type { BenchStack } from './bench-stack';
import { progressLatencies, promptTimings, sentProgress } from './prompt-timings';
import { describeRuns, runJobs } from './run-jobs';
import { stageBreakdown } from './stage-breakdown';
import { summarize, type Summary } from './stats';
import { warmUpStack } from './warm-up';

export interface OverheadResult {
  jobs: number;
  /** Client-seen latency (POST → job:completed) minus the backend's own execution. */
  overhead: Summary;
  execution: Summary;
  stages: { stage: string; p50: number }[];
  /** Simulator `progress` sent → Socket.IO `job:progress` received. */
  progress: { latency: Summary; sent: number; received: number };
  retried: Record<string, number>;
}

/** Sequential jobs on one backend: the overhead per job, where it goes, and how late progress arrives. */
export async function overheadScenario(bench: BenchStack, options: { jobs: number; steps: number; submitConcurrency: number; timeoutMs: number; warmUp?: number }): Promise<OverheadResult> {
  const gateway = bench.stack.gatewayUrl;
  // Warm-up: the first jobs of a fresh stack pay for connections and JIT compilation; then a few
  // of the scenario's own jobs, one at a time, as the measured ones run.
  await warmUpStack(bench, { jobs: options.warmUp ?? 0, submitConcurrency: options.submitConcurrency, timeoutMs: options.timeoutMs });
  await runJobs(gateway, bench.apiKey, { count: 5, steps: options.steps, inFlight: 1, submitConcurrency: 1, timeoutMs: options.timeoutMs });
  const { runs, progress, retried } = await runJobs(gateway, bench.apiKey, { count: options.jobs, steps: options.steps, inFlight: 1, submitConcurrency: 1, timeoutMs: options.timeoutMs });
  const described = await describeRuns(gateway, bench.apiKey, runs);
  const timings = await promptTimings(described);
  const sent = (await Promise.all(bench.simulators.map((s) => sentProgress(s.url)))).flat();
  const matched = progressLatencies(described, sent, progress);
  return {
    jobs: runs.length,
    overhead: summarize(described.map((r, i) => r.completedAt - r.submittedAt - (timings[i].finishedAt - timings[i].startedAt))),
    execution: summarize(timings.map((t) => t.finishedAt - t.startedAt)),
    stages: await stageBreakdown(bench.databaseUrl, described, timings),
    progress: { latency: summarize(matched.latencies), sent: matched.sent, received: matched.received },
    retried,
  };
}
