import { parseBenchArgs, UsageError } from './bench-args';

const HELP = `Usage: pnpm bench [options]

Measures every figure of issue #17 against its target (PASS or FAIL) with the four services and
ComfyUI simulators, each its own process, on a scratch database, queue prefix and library
(removed afterwards; the files once the whole run is over), and writes the report. Exit 0 whatever the verdicts; non-zero only when
the bench itself fails (a wait that times out, a job that fails).

Scenarios (all by default):
  overhead     sequential jobs on one backend: overhead per job (client-seen latency minus the
               backend's execution), where it goes, progress latency (simulator → Socket.IO)
  throughput   a backlog on N simulators at 1 step × 1 ms, against a minimal client driving the
               same simulators; CPU and database statements per job per service; first,
               each process's CPU while the stack sits idle
  scaling      k simulators at S steps × M ms: throughput against k × one backend, backend idle gaps

  --sequential N          sequential jobs of the overhead figure (default 50)
  --jobs N                throughput backlog, submitted at once (default 2000)
  --warm-up N             one-step jobs run through each stack before it is measured (the overhead,
                          throughput and scaling stacks), so that the services' code is compiled, as
                          on a stack that has been serving (default 2000: V8 compiles a fresh
                          service's code over about its first 2,000 jobs; 0 for a cold stack: a few
                          jobs only)
  --throughput-backends N simulators of the throughput figure and the soak (default 4)
  --backends LIST         simulator counts of the scaling figure (default 1,2,4,8)
  --per-backend N         scaling backlog per backend: k backends get N × k jobs (default 30)
  --steps N               sampler steps of the overhead and scaling jobs (default 5)
  --step-ms N             simulator time per step of those jobs (default 40)
  --only LIST             run only these scenarios, comma-separated (overhead,throughput,scaling)
  --soak N                run only the soak: N jobs in a steady stream on the throughput simulators;
                          each service's RSS after warm-up vs the end, Redis memory, PostgreSQL rows
  --window N              soak jobs in flight at once (default 200)
  --submit-concurrency N  POSTs in flight while a backlog is submitted (default 32)
  --timeout N             seconds any one wait may take before the bench fails: a stack start,
                          a run in which no job completes (default 120)
  --out FILE              write the report as Markdown (default docs/benchmarks.md, or
                          docs/benchmarks-soak.md with --soak; "-" for none)
  -h, --help              this help

Environment:
  BENCH_SERVICE_NODE_OPTIONS  Node flags added to the four services' NODE_OPTIONS only. A CPU
                          profile of each (NODE_OPTIONS refuses --cpu-prof): "--require
                          <abs path>/scripts/bench/cpu-profile-preload.cjs" with
                          CPU_PROFILE_DIR=/tmp/profiles (written when the service stops)`;

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) {
    console.log(HELP);
    return;
  }
  // Loaded only now: a usage answer does not wait for the modules that run the bench.
  const { runBench } = await import('./run-bench');
  await runBench(args);
}

main().catch((error) => {
  if (error instanceof UsageError) {
    console.error(`pnpm bench: ${error.message}\n\n${HELP}`);
    process.exit(2);
  }
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
