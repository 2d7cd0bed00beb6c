import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { runFrom, RUNTIME_ENV } from '@anime/stack';
import { TEST_REDIS_URL } from '@anime/testing';
import { REPO_ROOT } from '../default-env';
import { runBacklog, type BacklogResult } from './backlog';
import { parseBenchArgs, UsageError, type BenchArgs } from './bench-args';
import { withBenchStack } from './bench-stack';
import { directThroughput } from './direct-baseline';
import { filedSizes, FILING_AT_START, filingFloor } from './filing-floor';
import { ownCpuMs } from './process-memory';
import { queueFloor } from './queue-floor';
import { IDLE_WINDOW_SECONDS, IDLE_WINDOWS, measureIdleCpu, SETTLE_SECONDS } from './idle-cpu';
import { describeMachine } from './machine';
import { measureYardstick } from './machine-speed';
import { renderReport, type BenchReport, type ThroughputResult } from './report';
import { simulatorsCpuMs } from './resource-window';
import { overheadScenario, type OverheadResult } from './scenario-overhead';
import { soakScenario, SOAK_RETENTION_ENV } from './scenario-soak';
import { scratchFolder, withScratchRoot } from './scratch-root';
import { deltaPer } from './stats';

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

function log(line: string): void {
  console.error(`bench: ${line}`);
}

const warmingUp = (jobs: number) => (jobs ? `${jobs} one-step jobs to warm the stack up (not measured), then ` : '');

async function scenarios(args: BenchArgs, redisUrl: string, scratchRoot: string): Promise<Omit<BenchReport, 'machine' | 'args' | 'services'>> {
  const timeoutMs = args.timeoutS * 1000;
  const job = { steps: args.steps, submitConcurrency: args.submitConcurrency, timeoutMs };
  if (args.soak !== undefined) {
    log(`soak: ${args.soak} jobs on ${args.throughputBackends} simulators…`);
    const soak = await withBenchStack({ backends: args.throughputBackends, stepMs: 1, redisUrl, timeoutMs, scratchRoot, env: SOAK_RETENTION_ENV }, (bench) =>
      soakScenario(bench, { jobs: args.soak!, window: args.window, steps: 1, submitConcurrency: args.submitConcurrency, timeoutMs }),
    );
    return { soak };
  }
  const result: Omit<BenchReport, 'machine' | 'args' | 'services'> = {};
  const wants = (s: BenchArgs['only'][number]) => args.only.includes(s);
  if (wants('throughput')) {
    log(`throughput: ${args.jobs}-job backlog on ${args.throughputBackends} simulators at 1 step × 1 ms…`);
    result.throughput = await withBenchStack({ backends: args.throughputBackends, stepMs: 1, redisUrl, timeoutMs, scratchRoot }, async (bench): Promise<ThroughputResult> => {
      log(`throughput: first ${SETTLE_SECONDS + IDLE_WINDOWS * IDLE_WINDOW_SECONDS} s with nothing queued, for the stack's idle CPU…`);
      const idle = await measureIdleCpu(bench);
      if (args.warmUp) log(`throughput: ${args.warmUp} jobs to warm the stack up, not measured…`);
      const pipeline = await runBacklog(bench, { ...job, steps: 1, jobs: args.jobs, warmUp: args.warmUp });
      log(`throughput: the pipeline did ${pipeline.throughput.toFixed(1)} jobs/s; now a minimal client on the same simulators…`);
      const before = await simulatorsCpuMs(bench);
      const clientBefore = ownCpuMs();
      const direct = await directThroughput(bench.simulators.map((s) => s.url), { count: args.jobs, steps: 1, timeoutMs });
      const clientAfter = ownCpuMs();
      const after = await simulatorsCpuMs(bench);
      log(`throughput: the minimal client did ${direct.jobsPerSecond.toFixed(1)} jobs/s; now the queue and database floor…`);
      const floor = await queueFloor({ databaseUrl: bench.databaseUrl, redisUrl, prefix: bench.queuePrefix, count: args.jobs });
      const sizes = await filedSizes(bench.libraryDir);
      if (sizes) log('throughput: now the filing floor (an image and its sidecar written as the file-organizer writes them)…');
      const filing = sizes ? await filingFloor({ folder: await scratchFolder(scratchRoot, 'filing-floor'), count: args.jobs, ...sizes }) : undefined;
      return {
        pipeline,
        idle,
        direct: { jobsPerSecond: direct.jobsPerSecond, simulatorsCpuMsPerJob: deltaPer(before, after, args.jobs), clientCpuMsPerJob: (clientAfter - clientBefore) / args.jobs },
        floor,
        filing,
      };
    });
  }
  let overhead: OverheadResult | undefined;
  if (wants('overhead') || wants('scaling')) {
    const counts = wants('scaling') ? args.backends : [1];
    const scaling: BacklogResult[] = [];
    for (const k of counts) {
      await withBenchStack({ backends: k, stepMs: args.stepMs, redisUrl, timeoutMs, scratchRoot }, async (bench) => {
        let warmed = false;
        if (k === 1 && wants('overhead') && !overhead) {
          log(`overhead: ${warmingUp(args.warmUp)}${args.sequential} sequential jobs on one backend, ${args.steps} steps × ${args.stepMs} ms…`);
          overhead = await overheadScenario(bench, { ...job, jobs: args.sequential, warmUp: args.warmUp });
          warmed = true;
        }
        if (wants('scaling')) {
          log(`scaling: ${warmed ? '' : warmingUp(args.warmUp)}${args.perBackend * k} jobs on ${k} simulator(s)…`);
          scaling.push(await runBacklog(bench, { ...job, jobs: args.perBackend * k, warmUp: warmed ? 0 : args.warmUp }));
        }
      });
    }
    if (wants('overhead') && !overhead) {
      await withBenchStack({ backends: 1, stepMs: args.stepMs, redisUrl, timeoutMs, scratchRoot }, async (bench) => {
        log(`overhead: ${warmingUp(args.warmUp)}${args.sequential} sequential jobs on one backend…`);
        overhead = await overheadScenario(bench, { ...job, jobs: args.sequential, warmUp: args.warmUp });
      });
    }
    result.overhead = overhead;
    if (wants('scaling')) result.scaling = scaling;
  }
  return result;
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) {
    console.log(HELP);
    return;
  }
  const machine = describeMachine();
  const started = performance.now();
  log('the machine\'s speed first: a fixed workload…');
  const speedAtStart = measureYardstick();
  const { filingAtStart, measured } = await withScratchRoot(async (scratchRoot) => {
    log(`the file system first: ${FILING_AT_START.count} filings written as the file-organizer writes them…`);
    const filingAtStart = await filingFloor({ folder: await scratchFolder(scratchRoot, 'filing-at-start'), ...FILING_AT_START });
    return { filingAtStart, measured: await scenarios(args, process.env.REDIS_URL ?? TEST_REDIS_URL, scratchRoot) };
  });
  const speed = { start: speedAtStart, end: measureYardstick() };
  const services = `${runFrom() === 'dist' ? 'the compiled programs (`node dist/…js`)' : 'the TypeScript sources through tsx'}, with MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? RUNTIME_ENV.MALLOC_ARENA_MAX} and NODE_OPTIONS="${process.env.NODE_OPTIONS ?? RUNTIME_ENV.NODE_OPTIONS}"; the bench took ${((performance.now() - started) / 1000).toFixed(0)} s, load average ${loadavg()[0].toFixed(2)} at its end`;
  const text = renderReport({ machine, args, services, speed, filingAtStart, ...measured });
  console.log(text);
  const out = args.out ?? path.join('docs', args.soak === undefined ? 'benchmarks.md' : 'benchmarks-soak.md');
  if (out !== '-') {
    const file = path.resolve(REPO_ROOT, out);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    log(`written to ${path.relative(REPO_ROOT, file)}`);
  }
}

main().catch((error) => {
  if (error instanceof UsageError) {
    console.error(`pnpm bench: ${error.message}\n\n${HELP}`);
    process.exit(2);
  }
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
