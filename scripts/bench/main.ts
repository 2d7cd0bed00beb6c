import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { runFrom, RUNTIME_ENV } from '@anime/stack';
import { TEST_REDIS_URL } from '@anime/testing';
import { REPO_ROOT } from '../default-env';
import { parseBenchArgs, UsageError } from './bench-args';
import { startBenchStack } from './bench-stack';
import { directThroughput } from './direct-baseline';
import { rssMiB } from './process-memory';
import { idleGaps, promptTiming, type PromptTiming } from './prompt-timings';
import { runJobs, type JobRun } from './run-jobs';
import { stageBreakdown } from './stage-breakdown';
import { ms, summarize, type Summary } from './stats';

const HELP = `Usage: pnpm bench [options]

Measures the pipeline end to end: the four services and N ComfyUI simulators, each its own
process, on a scratch database, queue prefix and library (removed afterwards).

  --backends LIST   simulator counts to run, comma-separated (default 1,2)
  --jobs N          jobs submitted at once per run, the backlog (default 200)
  --sequential N    jobs run one after another for the overhead figure (default 50)
  --steps N         sampler steps per job (default 5)
  --step-ms N       simulator time per step (default 10)
  --out FILE        also write the report as Markdown (default docs/benchmarks.md; "-" for none)
  -h, --help        this help

Figures: orchestration overhead per job (client-seen latency minus the backend's own execution
time), backend idle gap between prompts under a backlog (from the backends' own timestamps),
throughput and its scaling with backends, the same work sent straight to a simulator by a
minimal client, and each service's RSS before and after the backlog.`;

interface Run {
  backends: number;
  throughput: number;
  idleGap: Summary;
  execution: Summary;
  overhead?: Summary;
  stages?: { stage: string; p50: number }[];
  rss: { service: string; before: number | null; after: number | null }[];
}

async function timingsOf(runs: JobRun[]): Promise<PromptTiming[]> {
  return Promise.all(runs.map((r) => promptTiming(r.backend, r.promptId)));
}

async function measure(backends: number, options: { jobs: number; sequential: number; steps: number; stepMs: number; withOverhead: boolean }): Promise<Run> {
  const bench = await startBenchStack({ backends, stepMs: options.stepMs, redisUrl: process.env.REDIS_URL ?? TEST_REDIS_URL });
  try {
    const gateway = bench.stack.gatewayUrl;
    const timeoutMs = 600_000;
    await runJobs(gateway, bench.apiKey, { count: 5, steps: options.steps, sequential: true, timeoutMs }); // warm-up
    let overhead: Summary | undefined;
    let stages: Run['stages'];
    if (options.withOverhead) {
      const runs = await runJobs(gateway, bench.apiKey, { count: options.sequential, steps: options.steps, sequential: true, timeoutMs });
      const timings = await timingsOf(runs);
      overhead = summarize(runs.map((r, i) => r.completedAt - r.submittedAt - (timings[i].finishedAt - timings[i].startedAt)));
      stages = await stageBreakdown(bench.databaseUrl, runs, timings);
    }
    const services = bench.stack.serviceNames.map((name) => ({ name, process: bench.stack.services[name]! }));
    const before = await Promise.all(services.map((s) => rssMiB(s.process.pid)));
    const runs = await runJobs(gateway, bench.apiKey, { count: options.jobs, steps: options.steps, sequential: false, timeoutMs });
    const after = await Promise.all(services.map((s) => rssMiB(s.process.pid)));
    const timings = await timingsOf(runs);
    const wallMs = Math.max(...runs.map((r) => r.completedAt)) - Math.min(...runs.map((r) => r.submittedAt));
    return {
      backends,
      throughput: runs.length / (wallMs / 1000),
      idleGap: summarize(idleGaps(timings)),
      execution: summarize(timings.map((t) => t.finishedAt - t.startedAt)),
      overhead,
      stages,
      rss: services.map((s, i) => ({ service: s.name, before: before[i], after: after[i] })),
    };
  } finally {
    await bench.close();
  }
}

function report(runs: Run[], direct: number, options: { jobs: number; sequential: number; steps: number; stepMs: number }): string {
  const base = runs.find((r) => r.backends === 1)?.throughput;
  const mib = (v: number | null) => (v === null ? '–' : `${v.toFixed(0)} MiB`);
  const lines = [
    `# Benchmarks`,
    '',
    `Run with \`pnpm bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`,
    `Services: ${runFrom() === 'dist' ? 'the compiled programs (`node dist/…js`)' : 'the TypeScript sources through tsx'}, with MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? RUNTIME_ENV.MALLOC_ARENA_MAX} and NODE_OPTIONS="${process.env.NODE_OPTIONS ?? RUNTIME_ENV.NODE_OPTIONS}".`,
    `Each job: ${options.steps} sampler steps × ${options.stepMs} ms in the simulator, 64×64, Kai Nakamura; backlog ${options.jobs} jobs; overhead over ${options.sequential} sequential jobs.`,
    'The services, the simulators and the client share these cores: with simulators standing in for GPUs, the scaling column shows the',
    "pipeline's own CPU cost on this machine, not how real GPUs would scale.",
    '',
    '| backends | throughput | vs k × 1 backend | backend idle gap p50 / p99 | backend execution p50 |',
    '|---|---|---|---|---|',
    ...runs.map((r) => `| ${r.backends} | ${r.throughput.toFixed(1)} jobs/s | ${base ? (r.throughput / (base * r.backends)).toFixed(2) : '–'} | ${ms(r.idleGap.p50)} / ${ms(r.idleGap.p99)} | ${ms(r.execution.p50)} |`),
    '',
  ];
  const withOverhead = runs.find((r) => r.overhead);
  if (withOverhead?.overhead) {
    const o = withOverhead.overhead;
    lines.push(`Orchestration overhead per job (client-seen latency − backend execution), ${withOverhead.backends} backend: p50 ${ms(o.p50)}, p95 ${ms(o.p95)}, p99 ${ms(o.p99)}, max ${ms(o.max)}.`, '');
    if (withOverhead.stages) {
      lines.push('Where a sequential job spends its time (p50 of each stage, from the timestamps PostgreSQL and the backend recorded):', '', '| stage | p50 |', '|---|---|');
      for (const s of withOverhead.stages) lines.push(`| ${s.stage} | ${ms(s.p50)} |`);
      lines.push('');
    }
  }
  if (base) lines.push(`Straight to one simulator with a minimal client (no queue, no database): ${direct.toFixed(1)} jobs/s; the pipeline reaches ${((base / direct) * 100).toFixed(0)}% of it with one backend.`, '');
  lines.push('| backends | service | RSS before backlog | RSS after |', '|---|---|---|---|');
  for (const r of runs) for (const s of r.rss) lines.push(`| ${r.backends} | ${s.service} | ${mib(s.before)} | ${mib(s.after)} |`);
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) {
    console.log(HELP);
    return;
  }
  const { backends } = args;
  const options = { jobs: args.jobs, sequential: args.sequential, steps: args.steps, stepMs: args.stepMs };
  const runs: Run[] = [];
  for (const [i, k] of backends.entries()) {
    console.error(`bench: ${k} backend(s)…`);
    runs.push(await measure(k, { ...options, withOverhead: i === 0 }));
  }
  console.error('bench: direct baseline…');
  const direct = await directThroughput({ count: options.jobs, steps: options.steps, stepMs: options.stepMs });
  const text = report(runs, direct, options);
  console.log(text);
  const out = args.out ?? path.join('docs', 'benchmarks.md');
  if (out !== '-') {
    const file = path.resolve(REPO_ROOT, out);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    console.error(`bench: written to ${path.relative(REPO_ROOT, file)}`);
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
