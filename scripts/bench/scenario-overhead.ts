import type { BenchStack } from './bench-stack';
import { progressLatencies, promptTimings, sentProgress, type PromptTiming } from './prompt-timings';
import { describeRuns, runJobs, type DescribedRun } from './run-jobs';
import { stageBreakdown } from './stage-breakdown';
import { settleAfterBurst, type Settling } from './settle';
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
  /** The same number of sequential jobs run straight after the warm-up burst, before the machine settled: their overhead. */
  unsettled: Summary;
  settling: Settling;
}

/** Sequential jobs on one backend: the overhead per job, where it goes, and how late progress arrives. */
export async function overheadScenario(bench: BenchStack, options: { jobs: number; steps: number; submitConcurrency: number; timeoutMs: number; warmUp?: number }): Promise<OverheadResult> {
  const gateway = bench.stack.gatewayUrl;
  // Warm-up: the first jobs of a fresh stack pay for connections and JIT compilation; then a few
  // of the scenario's own jobs, one at a time, as the measured ones run.
  await warmUpStack(bench, { jobs: options.warmUp ?? 0, submitConcurrency: options.submitConcurrency, timeoutMs: options.timeoutMs });
  const sequential = () => runJobs(gateway, bench.apiKey, { count: options.jobs, steps: options.steps, inFlight: 1, submitConcurrency: 1, timeoutMs: options.timeoutMs });
  await runJobs(gateway, bench.apiKey, { count: 5, steps: options.steps, inFlight: 1, submitConcurrency: 1, timeoutMs: options.timeoutMs });
  // Straight after the burst the jobs share the machine with its aftermath (dirty pages written out,
  // autovacuum, the checkpointer): measured and reported, but the figure is taken once that passed.
  const early = await describeRuns(gateway, bench.apiKey, (await sequential()).runs);
  const unsettled = overheads(early, await promptTimings(early));
  const settling = await settleAfterBurst(bench.databaseUrl);
  const { runs, progress, retried } = await sequential();
  const described = await describeRuns(gateway, bench.apiKey, runs);
  const timings = await promptTimings(described);
  const sent = (await Promise.all(bench.simulators.map((s) => sentProgress(s.url)))).flat();
  const matched = progressLatencies(described, sent, progress);
  return {
    jobs: runs.length,
    overhead: summarize(overheads(described, timings)),
    execution: summarize(timings.map((t) => t.finishedAt - t.startedAt)),
    stages: await stageBreakdown(bench.databaseUrl, described, timings),
    progress: { latency: summarize(matched.latencies), sent: matched.sent, received: matched.received },
    retried,
    unsettled: summarize(unsettled),
    settling,
  };
}

/** Client-seen latency minus the backend's own execution, per job. */
function overheads(described: DescribedRun[], timings: PromptTiming[]): number[] {
  return described.map((r, i) => r.completedAt - r.submittedAt - (timings[i].finishedAt - timings[i].startedAt));
}
