import type { BenchStack } from './bench-stack';
import { measureWindow, type WindowUse } from './resource-window';
import { runJobs } from './run-jobs';

/**
 * Runs `jobs` one-step jobs through the stack as a backlog, unmeasured by the scenario: the
 * services' code is compiled and their pools full afterwards, as on a stack that has been serving
 * for a while (a fresh process spends a good part of its first thousand jobs in V8's optimizing
 * compiler). One step whatever the scenario's own jobs: the same code runs, the backends' time is
 * not spent. What the warm-up itself cost is returned: the price of a fresh stack's first jobs.
 */
export async function warmUpStack(bench: BenchStack, options: { jobs: number; submitConcurrency: number; timeoutMs: number }): Promise<WindowUse | undefined> {
  if (options.jobs <= 0) return undefined;
  const { use } = await measureWindow(
    bench,
    (r) => r.runs.length,
    () => runJobs(bench.stack.gatewayUrl, bench.apiKey, { count: options.jobs, steps: 1, inFlight: options.jobs, submitConcurrency: options.submitConcurrency, timeoutMs: options.timeoutMs }),
  );
  return use;
}
