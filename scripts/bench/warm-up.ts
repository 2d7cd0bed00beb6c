import type { BenchStack } from './bench-stack';
import { runJobs } from './run-jobs';

/**
 * Runs `jobs` one-step jobs through the stack as a backlog, unmeasured: the services' code is
 * compiled and their pools full afterwards, as on a stack that has been serving for a while (a
 * fresh process spends a good part of its first thousand jobs in V8's optimizing compiler).
 * One step whatever the scenario's own jobs: the same code runs, the backends' time is not spent.
 */
export async function warmUpStack(bench: BenchStack, options: { jobs: number; submitConcurrency: number; timeoutMs: number }): Promise<void> {
  if (options.jobs <= 0) return;
  await runJobs(bench.stack.gatewayUrl, bench.apiKey, { count: options.jobs, steps: 1, inFlight: options.jobs, submitConcurrency: options.submitConcurrency, timeoutMs: options.timeoutMs });
}
