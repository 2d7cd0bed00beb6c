// The bench itself, once its arguments are read: main.ts loads this module only then, so that --help
// and a usage mistake answer at once instead of after loading the stack, Prisma, BullMQ and the rest.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { runFrom, RUNTIME_ENV } from '@anime/stack';
import { TEST_REDIS_URL } from '@anime/testing';
import { REPO_ROOT } from '../default-env';
import { runBacklog, type BacklogResult } from './backlog';
import type { BenchArgs } from './bench-args';
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

/** Runs the scenarios `args` asks for and writes the report (the usage is main.ts's HELP). */
export async function runBench(args: BenchArgs): Promise<void> {
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
