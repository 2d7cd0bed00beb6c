import type { BacklogResult } from './backlog';
import type { BenchArgs } from './bench-args';
import { IDLE_WINDOW_SECONDS, IDLE_WINDOWS, SETTLE_SECONDS, type IdleCpu } from './idle-cpu';
import { coresBusyPercent, cpuCeiling, figureTable, growthPercent, scalingEfficiency, type Figure } from './figures';
import { machineLine, type Machine } from './machine';
import { machineSpeedLine, type MachineSpeed } from './machine-speed';
import type { FilingFloor } from './filing-floor';
import { QUEUE_FLOOR_HOPS, QUEUE_FLOOR_STATEMENTS_PER_JOB, type QueueFloor } from './queue-floor';
import type { OverheadResult } from './scenario-overhead';
import type { HeapWindow, MemoryWindow } from './memory-windows';
import type { SoakResult } from './scenario-soak';
import { ms, sumKnown, summarize } from './stats';

/** The issue's throughput targets: jobs/s, and % of the minimal client in the same run. */
const THROUGHPUT_TARGET = 200;
const THROUGHPUT_VS_DIRECT_TARGET = 75;
/** The issue's CPU target: ms per job, the four services together. */
const SERVICES_CPU_TARGET_MS = 8;

export interface ThroughputResult {
  pipeline: BacklogResult;
  /** Each process's CPU with nothing queued, measured on the same stack before the backlog. */
  idle?: IdleCpu[];
  direct: { jobsPerSecond: number; simulatorsCpuMsPerJob: number | null; clientCpuMsPerJob: number };
  /** Three BullMQ hops with four statements per job in one process, on the same Redis and PostgreSQL. */
  floor?: QueueFloor;
  /** An image and its sidecar written as the file-organizer writes them, in one process, on the library's file system. */
  filing?: FilingFloor;
}

export interface BenchReport {
  machine: Machine;
  args: BenchArgs;
  services: string;
  /** The yardstick's time before the first stack and after the last. */
  speed?: MachineSpeed;
  /** The filing floor measured before any stack started: the file system's state at the start. */
  filingAtStart?: FilingFloor;
  overhead?: OverheadResult;
  throughput?: ThroughputResult;
  scaling?: BacklogResult[];
  soak?: SoakResult;
}

const SOAK_RSS_SERVICES = ['gateway', 'character', 'orchestrator', 'file-organizer'];
/** "Near its baseline": what the bench's own queue keys may still hold once finished jobs aged out. */
const REDIS_NEAR_BASELINE_MIB = 1;

/** Every figure of issue #17 with its target, measured or not run. */
export function figuresOf(r: BenchReport): Figure[] {
  const o = r.overhead;
  const t = r.throughput;
  const scaling = r.scaling ? scalingEfficiency(r.scaling) : undefined;
  const gaps = r.scaling ? summarize(r.scaling.flatMap((s) => s.gaps)) : undefined;
  const soak = r.soak;
  const figures: Figure[] = [
    { figure: 'overhead per job p50 (sequential, 1 backend)', measured: o?.overhead.p50, unit: 'ms', bound: 'max', limit: 25 },
    { figure: 'overhead per job p99 (sequential, 1 backend)', measured: o?.overhead.p99, unit: 'ms', bound: 'max', limit: 60 },
    { figure: `throughput, ${r.args.throughputBackends} × 1 step × 1 ms, ${r.args.jobs}-job backlog`, measured: t?.pipeline.throughput, unit: 'jobs/s', bound: 'min', limit: THROUGHPUT_TARGET },
    { figure: 'throughput vs a minimal client on the same simulators', measured: t ? (t.pipeline.throughput / t.direct.jobsPerSecond) * 100 : undefined, unit: '%', bound: 'min', limit: THROUGHPUT_VS_DIRECT_TARGET },
    {
      figure: `scaling: worst k of ${r.args.backends.join(', ')} (throughput / (k × 1 backend))`,
      measured: scaling ? worstScaling(scaling) : undefined,
      unit: '×',
      bound: 'min',
      limit: 0.9,
    },
    { figure: 'backend idle gap between prompts under backlog p50', measured: gaps?.p50, unit: 'ms', bound: 'max', limit: 1 },
    { figure: 'backend idle gap between prompts under backlog p99', measured: gaps?.p99, unit: 'ms', bound: 'max', limit: 10 },
    { figure: 'progress latency p50 (simulator → Socket.IO client)', measured: o?.progress.latency.p50, unit: 'ms', bound: 'max', limit: 3 },
    { figure: 'progress latency p99 (simulator → Socket.IO client)', measured: o?.progress.latency.p99, unit: 'ms', bound: 'max', limit: 10 },
    { figure: 'CPU per job, four services together (throughput window)', measured: t?.pipeline.use.totalCpuMsPerJob, unit: 'ms', bound: 'max', limit: SERVICES_CPU_TARGET_MS },
  ];
  for (const service of SOAK_RSS_SERVICES) {
    const row = soak?.rss.find((s) => s.service === service);
    figures.push({ figure: `soak: ${service} RSS growth after warm-up`, measured: row ? growthPercent(row.warm, row.end) : undefined, unit: '%', bound: 'max', limit: 10 });
  }
  const redis = soak?.redis;
  figures.push({
    figure: "soak: Redis held by the bench's queues once finished jobs aged out, over baseline (the generation-events history aside)",
    measured: redis ? (redis.agedOut ?? redis.end).prefixMiB - redis.baseline.prefixMiB : undefined,
    unit: 'MiB',
    bound: 'max',
    limit: REDIS_NEAR_BASELINE_MIB,
    failure: redis && !redis.agedOut ? `finished jobs are kept ${retentionText(soak!)}: they do not age out within a bench (the figure is at the end of the soak)` : undefined,
  });
  return figures;
}

/** The lowest ratio among k > 1 (NaN without one, or without the one-backend run to compare with). */
export function worstScaling(ratios: { backends: number; ratio: number }[]): number {
  const others = ratios.filter((s) => s.backends !== 1).map((s) => s.ratio);
  if (!others.length || others.some(Number.isNaN)) return Number.NaN;
  return Math.min(...others);
}

function retentionText(soak: SoakResult): string {
  const distinct = new Set(Object.values(soak.retention).map((r) => `completed ${bound(r.completeAgeS, r.completeCount)}, failed ${bound(r.failAgeS, r.failCount)}`));
  return [...distinct].join('; ') + ' per queue';
}

const bound = (ageS: number | undefined, count: number | undefined) =>
  ageS === undefined && count === undefined ? 'forever' : [ageS === undefined ? null : `up to ${ageS >= 3600 ? `${(ageS / 3600).toFixed(0)} h` : `${ageS} s`}`, count === undefined ? null : `at most ${count.toLocaleString('en')}`].filter(Boolean).join(', ');

/** A line naming the POSTs the gateway answered 5xx (retried under the same x-request-id), when there were any. */
export function retriedLine(retried: Record<string, number>): string[] {
  const entries = Object.entries(retried);
  if (!entries.length) return [];
  return [`POSTs the gateway answered without a 2xx/4xx and the client retried under the same x-request-id: ${entries.map(([status, n]) => `${status} × ${n}`).join(', ')}.`, ''];
}

const num = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));

/** What ran through a stack before it was measured (warmUpStack). */
const warmUpPhrase = (jobs: number) => (jobs ? `after ${jobs} one-step jobs that warmed the stack up (not measured)` : 'after a few warm-up jobs only (a cold stack)');

const filingAtStartLine = (f: FilingFloor) =>
  `Before any stack started, an image of ${f.imageBytes} bytes and its sidecar of ${f.sidecarBytes} bytes written ${f.filings} times as the file-organizer writes them cost ${num(f.cpuMsPerFiling, 2)} ms of CPU per filing: the file system as the run found it (measured here about 0.4 ms on a quiet one, 1.2–1.6 ms within minutes of a run that deleted its files).`;

export function renderReport(r: BenchReport): string {
  const a = r.args;
  const lines = [
    r.soak ? '# Benchmarks: soak' : '# Benchmarks',
    '',
    `Run with \`pnpm bench${r.soak ? ` --soak ${a.soak}` : ''}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${machineLine(r.machine)}.`,
    `Services: ${r.services}.`,
    [
      r.soak && `Soak: ${a.soak} jobs in a steady stream of ${a.window} in flight, on ${a.throughputBackends} simulators at 1 step × 1 ms.`,
      r.overhead && `Overhead and progress: ${a.sequential} sequential jobs, ${a.steps} steps × ${a.stepMs} ms, one backend, ${warmUpPhrase(a.warmUp)}.`,
      r.throughput && `Throughput: ${a.jobs}-job backlog on ${a.throughputBackends} simulators at 1 step × 1 ms, POSTs ${a.submitConcurrency} at a time, ${warmUpPhrase(a.warmUp)}.`,
      r.scaling && `Scaling: ${a.perBackend} × k jobs on k = ${a.backends.join(', ')} simulators at ${a.steps} steps × ${a.stepMs} ms, each stack ${warmUpPhrase(a.warmUp)}.`,
    ]
      .filter(Boolean)
      .join(' '),
    'The services, the simulators, PostgreSQL, Redis and the bench client share these cores. Every stack files into a scratch folder that is removed only when the whole run ends: on a file system without a journal, files deleted in the last minutes make each new file cost several times more (see scripts/bench/scratch-root.ts), so no stack pays for the one before it.',
    ...(r.speed ? [machineSpeedLine(r.speed)] : []),
    ...(r.filingAtStart ? [filingAtStartLine(r.filingAtStart)] : []),
    '',
    ...figureTable(figuresOf(r)),
    '',
  ];
  if (r.overhead) lines.push(...overheadSection(r.overhead));
  if (r.throughput) lines.push(...throughputSection(r.throughput, r.machine, a.throughputBackends));
  if (r.scaling) lines.push(...scalingSection(r.scaling, r.machine));
  if (r.soak) lines.push(...soakSection(r.soak));
  if (!r.soak) lines.push('The soak figures come from `pnpm bench --soak 10000`, written to its own report (docs/benchmarks-soak.md by default).', '');
  return lines.join('\n');
}

function overheadSection(o: OverheadResult): string[] {
  const p = o.progress;
  return [
    `## Overhead and progress (${o.jobs} sequential jobs, one backend)`,
    '',
    `Overhead (client-seen latency − backend execution): p50 ${ms(o.overhead.p50)}, p95 ${ms(o.overhead.p95)}, p99 ${ms(o.overhead.p99)}, max ${ms(o.overhead.max)}; backend execution p50 ${ms(o.execution.p50)}.`,
    `Progress: ${p.received} of ${p.sent} \`progress\` messages the simulator sent reached the client as \`job:progress\` (the pipeline may collapse ticks: only the latest value matters); latency p50 ${ms(p.latency.p50)}, p95 ${ms(p.latency.p95)}, p99 ${ms(p.latency.p99)}, max ${ms(p.latency.max)}.`,
    '',
    'Where a sequential job spends its time (p50 of each stage, from the timestamps PostgreSQL and the backend recorded):',
    '',
    '| stage | p50 |',
    '|---|---|',
    ...o.stages.map((s) => `| ${s.stage} | ${ms(s.p50)} |`),
    '',
    ...retriedLine(o.retried),
  ];
}

function useTables(use: BacklogResult['use'], label: string): string[] {
  return [
    `CPU and database statements per job over the ${label} window (${use.jobs} jobs; CPU from each service's \`process_cpu_seconds_total\`, i.e. process.cpuUsage user + system; statements from \`anime_db_statements_total\`; GC pauses, part of that CPU, from \`nodejs_gc_duration_seconds\`; context switches of every thread from /proc; PostgreSQL and Redis are the processes of the two servers the bench uses, from /proc: the postmaster its database connection reaches (the parent of \`pg_backend_pid()\`) with every process under it and the backends it reaped, and the redis-server of INFO server's \`process_id\`, not other PostgreSQL or Redis servers of the machine):`,
    '',
    '| service | CPU per job | of which GC pauses | statements per job | context switches per job | RSS before | RSS after |',
    '|---|---|---|---|---|---|---|',
    ...use.services.map((s) => `| ${s.service} | ${num(s.cpuMsPerJob, 2)} ms | ${num(s.gcMsPerJob, 2)} ms | ${num(s.statementsPerJob)} | ${num(s.switchesPerJob)} | ${num(s.rssBefore, 0)} MiB | ${num(s.rssAfter, 0)} MiB |`),
    `| **four services** | **${num(use.totalCpuMsPerJob, 2)} ms** | **${num(sumKnown(use.services.map((s) => s.gcMsPerJob)), 2)} ms** | **${num(use.totalStatementsPerJob)}** | **${num(sumKnown(use.services.map((s) => s.switchesPerJob)))}** | | |`,
    `| simulators (from /proc) | ${num(use.simulatorsCpuMsPerJob, 2)} ms | | | | | |`,
    `| bench client (process.cpuUsage) | ${num(use.clientCpuMsPerJob, 2)} ms | | | | | |`,
    `| PostgreSQL (all its processes, from /proc) | ${num(use.postgresCpuMsPerJob, 2)} ms | | | | | |`,
    `| Redis (from /proc) | ${num(use.redisCpuMsPerJob, 2)} ms | | | | | |`,
    '',
    ...redisCommandsLine(use.redisCommands),
  ];
}

/** Redis commands per job, in all and the most frequent by name (whole server: the bench runs alone). */
export function redisCommandsLine(commands: { command: string; perJob: number }[] | null | undefined, shown = 8): string[] {
  if (!commands?.length) return [];
  const total = commands.reduce((sum, c) => sum + c.perJob, 0);
  const listed = commands.slice(0, shown).map((c) => `${c.command} ${num(c.perJob)}`);
  const others = commands.length - shown;
  const rest = others > 0 ? `, ${others} other command${others === 1 ? '' : 's'} ${num(commands.slice(shown).reduce((sum, c) => sum + c.perJob, 0))}` : '';
  return [`Redis ran ${num(total)} commands per job over the window (INFO commandstats, the whole server's): ${listed.join(', ')}${rest}. BullMQ's scripts run as evalsha.`, ''];
}

function throughputSection(t: ThroughputResult, m: Machine, backends: number): string[] {
  const p = t.pipeline;
  const use = p.use;
  const outside = (use.simulatorsCpuMsPerJob ?? 0) + use.clientCpuMsPerJob;
  const stores = (use.postgresCpuMsPerJob ?? 0) + (use.redisCpuMsPerJob ?? 0);
  const everything = allCpuMsPerJob(use);
  return [
    `## Throughput (${p.jobs}-job backlog, ${backends} simulators at 1 step × 1 ms)`,
    '',
    `The pipeline: ${num(p.throughput)} jobs/s; a minimal client (no queue, no database, ${2} prompts per backend like the orchestrator) on the same simulators: ${num(t.direct.jobsPerSecond)} jobs/s, the simulators using ${num(t.direct.simulatorsCpuMsPerJob, 2)} ms CPU per job there.`,
    ...floorLines(t, m),
    ...servicesFloorLine(t),
    `Backend idle gap between prompts p50 ${ms(p.idleGap.p50)}, p99 ${ms(p.idleGap.p99)}; backend execution p50 ${ms(p.execution.p50)}.`,
    `CPU ceiling of this machine: ${m.cores} cores ÷ ${num(everything, 2)} ms per job (services ${num(use.totalCpuMsPerJob, 2)} + simulators and client ${num(outside, 2)} + PostgreSQL and Redis ${num(stores, 2)}) = ${num(cpuCeiling(m.cores, everything))} jobs/s at these costs; the simulators and the client alone would allow ${num(cpuCeiling(m.cores, outside))} jobs/s, and with PostgreSQL and Redis ${num(cpuCeiling(m.cores, outside + stores))} jobs/s before any service runs. ${THROUGHPUT_TARGET} jobs/s would take at most ${num((m.cores * 1000) / THROUGHPUT_TARGET, 2)} ms of CPU per job from all of them together.`,
    ...warmUpCostLine(p),
    '',
    ...retriedLine(p.retried),
    ...useTables(use, 'throughput'),
    ...idleLines(t.idle),
  ];
}

/** What the fresh stack's first jobs cost against the measured ones: the price of a cold start. */
export function warmUpCostLine(p: BacklogResult): string[] {
  const w = p.warmUp;
  if (!w) return [];
  return [
    `The ${w.jobs} warm-up jobs before the backlog, a fresh stack's first, cost the four services ${num(w.totalCpuMsPerJob, 2)} ms of CPU per job (V8 compiles their code meanwhile), against ${num(p.use.totalCpuMsPerJob, 2)} ms in the measured backlog.`,
  ];
}

/**
 * The queue and database floor, and what a pipeline made of nothing but the minimal client and that
 * floor would cost here: the measurement that shows whether the throughput targets fit these cores.
 */
function floorLines(t: ThroughputResult, m: Machine): string[] {
  const f = t.floor;
  if (!f) return [];
  const floorCpu = f.processCpuMsPerJob + (f.postgresCpuMsPerJob ?? 0) + (f.redisCpuMsPerJob ?? 0);
  const filing = t.filing;
  const leanest = (t.direct.simulatorsCpuMsPerJob ?? 0) + t.direct.clientCpuMsPerJob + floorCpu + (filing?.cpuMsPerFiling ?? 0);
  const needed = Math.max(THROUGHPUT_TARGET, (THROUGHPUT_VS_DIRECT_TARGET / 100) * t.direct.jobsPerSecond);
  return [
    `The queue and database floor (the limit the issue names: ${QUEUE_FLOOR_HOPS} BullMQ hops with ${QUEUE_FLOOR_STATEMENTS_PER_JOB} PostgreSQL statements per job, ids alone on the queues, in one process; no HTTP, ComfyUI, files or events), same Redis and PostgreSQL (the CPU of those two servers' processes alone), ${f.jobs} jobs: ${num(f.jobsPerSecond)} jobs/s; its process ${num(f.processCpuMsPerJob, 2)} ms CPU per job, PostgreSQL ${num(f.postgresCpuMsPerJob, 2)}, Redis ${num(f.redisCpuMsPerJob, 2)}.`,
    ...(filing
      ? [
          `The filing floor (an image of ${filing.imageBytes} bytes and its sidecar of ${filing.sidecarBytes} bytes, as the pipeline filed them, written ${filing.filings} times as the file-organizer writes them: temp file, fsync, rename, then the folder synced; in one process, on the library's file system, with no HTTP, hashing or database): ${num(filing.cpuMsPerFiling, 2)} ms of CPU per filing, the kernel's file system work included.`,
        ]
      : []),
    `A pipeline made of nothing but the minimal client and ${filing ? 'these floors' : 'this floor'} would cost ${num(leanest, 2)} ms of CPU per job here (simulators ${num(t.direct.simulatorsCpuMsPerJob, 2)} + the minimal client ${num(t.direct.clientCpuMsPerJob, 2)} + the queue and database floor ${num(floorCpu, 2)}${filing ? ` + the filing floor ${num(filing.cpuMsPerFiling, 2)}` : ''}): at most ${num(cpuCeiling(m.cores, leanest))} jobs/s on these ${m.cores} cores, before any of the services' own work, against the ${num(needed)} jobs/s the throughput targets ask (≥ ${THROUGHPUT_TARGET} and ≥ ${THROUGHPUT_VS_DIRECT_TARGET} % of the minimal client).`,
  ];
}

/**
 * The part of the floors the four services themselves would spend (the queue floor's process, the
 * minimal client, the filing floor), against the CPU target: the measurement that shows how much of
 * the target is left for everything else they do.
 */
export function servicesFloorLine(t: ThroughputResult): string[] {
  const f = t.floor;
  if (!f) return [];
  const filing = t.filing?.cpuMsPerFiling ?? 0;
  const own = f.processCpuMsPerJob + t.direct.clientCpuMsPerJob + filing;
  const left = SERVICES_CPU_TARGET_MS - own;
  return [
    `Of that, the four services' own share, the least their work costs with no REST request, authentication, limits, events, logs or metrics: the queue and database floor's process ${num(f.processCpuMsPerJob, 2)} + the minimal client ${num(t.direct.clientCpuMsPerJob, 2)} (each prompt's POST, WebSocket and history) + the filing floor ${num(filing, 2)} = ${num(own, 2)} ms per job, against the ≤ ${SERVICES_CPU_TARGET_MS} ms the CPU target allows them and the ${num(t.pipeline.use.totalCpuMsPerJob, 2)} ms they spent: ${left > 0 ? `the target leaves ${num(left, 2)} ms per job for everything else they do` : `the target is below it by ${num(-left, 2)} ms per job before anything else they do`}.`,
  ];
}

export function idleLines(idle: IdleCpu[] | undefined): string[] {
  if (!idle?.length) return [];
  const services = idle.filter((i) => !i.process.startsWith('simulator'));
  const total = sumKnown(services.map((i) => i.msPerSecond));
  return [
    `Idle, on the same stack before its backlog (nothing queued, ${IDLE_WINDOWS} readings of ${IDLE_WINDOW_SECONDS} s from ${SETTLE_SECONDS} s after it was ready; CPU ms per second of wall time, from /proc; the median reading, then the busiest): ${idle.map((i) => `${i.process} ${num(i.msPerSecond, 1)} (${num(i.peakMsPerSecond, 1)})`).join(', ')}; the four services ${num(total, 1)} ms/s. A fresh service does one-off work in its first half minute (V8's memory reducer collecting its start-up heap): the busiest reading, not the median. At a low job rate the idle CPU is most of a job's CPU (see the scaling table's k = 1).`,
    '',
  ];
}

/** Every process of a window (services, simulators, the bench client, PostgreSQL, Redis), CPU ms per job. */
function allCpuMsPerJob(use: BacklogResult['use']): number {
  return use.totalCpuMsPerJob + (use.simulatorsCpuMsPerJob ?? 0) + use.clientCpuMsPerJob + (use.postgresCpuMsPerJob ?? 0) + (use.redisCpuMsPerJob ?? 0);
}

function scalingSection(rows: BacklogResult[], m: Machine): string[] {
  const ratios = scalingEfficiency(rows);
  return [
    '## Scaling',
    '',
    `The last column is how busy the machine's ${m.cores} cores were over the run: the CPU of every process (services, simulators, bench client, PostgreSQL, Redis) per job, at the run's throughput. Near 100 %, the cores, not the backends, set the pace.`,
    '',
    '| backends | jobs | throughput | vs k × 1 backend | idle gap p50 / p99 | execution p50 | progress p50 / p99 (received/sent) | CPU per job (4 services) | cores busy |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r, i) =>
        `| ${r.backends} | ${r.jobs} | ${num(r.throughput)} jobs/s | ${num(ratios[i].ratio, 2)} | ${ms(r.idleGap.p50)} / ${ms(r.idleGap.p99)} | ${ms(r.execution.p50)} | ${ms(r.progress.latency.p50)} / ${ms(r.progress.latency.p99)} (${r.progress.received}/${r.progress.sent}) | ${num(r.use.totalCpuMsPerJob, 2)} ms | ${num(coresBusyPercent(m.cores, allCpuMsPerJob(r.use), r.throughput), 0)} % |`,
    ),
    '',
    ...rows.flatMap((r) => retriedLine(r.retried).map((line) => (line ? `${r.backends} backend(s): ${line}` : line))),
  ];
}

function soakRssTable(s: SoakResult): string[] {
  const range = (w: MemoryWindow | undefined) => (w ? ` (${num(w.min, 0)}–${num(w.max, 0)}, ${w.samples} readings)` : '');
  const heap = (h: { warm: HeapWindow; end: HeapWindow } | undefined) =>
    h && h.warm.median !== null && h.end.median !== null
      ? `${num(h.warm.median, 1)} → ${num(h.end.median, 1)} MiB (${num(growthPercent(h.warm.median, h.end.median))} %; ${h.warm.collections ?? '?'} and ${h.end.collections ?? '?'} major collections in the windows)`
      : '– (no reading after a major collection in a window)';
  const held = (h: { warm: MemoryWindow; end: MemoryWindow } | undefined) =>
    h && h.warm.median !== null && h.end.median !== null ? `${num(h.warm.median, 0)} → ${num(h.end.median, 0)} MiB (${num(h.end.median - h.warm.median, 0)} MiB)` : '–';
  return [
    'RSS of each service, read every second from /proc. Under load the V8 heap fills and empties at each major collection (1,500–2,500',
    'jobs per cycle when this measure was chosen), so RSS saws by tens of MiB and a single reading lands anywhere on it: after warm-up and at the end are each the',
    'median of the readings over a fifth of the jobs (jobs 10–30 %, and the last 20 %), which a real growth moves as a whole. The single',
    'readings the soak compared before (as the 10 %-th and the last job completed) are shown beside them.',
    "RSS also follows the heap V8 reserves between two major collections, which it sizes anew at each: it can end a soak a tenth higher with nothing more retained.",
    "What a service retains is its heap right after a major collection (`anime_heap_after_major_gc_bytes`, read from its /metrics every 2 s), over the same windows: a leak grows it. A window in which no major collection ran holds the reading of the one before it.",
    'The heap V8 holds (`nodejs_heap_size_total_bytes`, read with it: what it keeps reserved, garbage not collected yet included) tells which part of a growth of RSS is V8 sizing its heap anew and which lies outside it (code, malloc, buffers).',
    '',
    `| service | RSS after warm-up: median (range) | RSS at the end: median (range) | growth | heap kept after major collections: after warm-up → end (growth) | heap V8 holds (medians): after warm-up → end | single readings: 10 % → end (growth) | ${s.redis.waitedS ? `idle ${s.redis.waitedS} s after the last job` : 'idle (the bench did not wait)'} |`,
    '|---|---|---|---|---|---|---|---|',
    ...s.rss.map(
      (r) =>
        `| ${r.service} | ${num(r.warm, 0)} MiB${range(r.windows?.warm)} | ${num(r.end, 0)} MiB${range(r.windows?.end)} | ${num(growthPercent(r.warm, r.end))} % | ${heap(r.heapAfterGc)} | ${held(r.heapCommitted)} | ` +
        `${r.single ? `${num(r.single.warm, 0)} → ${num(r.single.end, 0)} MiB (${num(growthPercent(r.single.warm, r.single.end))} %)` : '–'} | ${r.idle === undefined ? '–' : `${num(r.idle, 0)} MiB`} |`,
    ),
  ];
}

function soakSection(s: SoakResult): string[] {
  const redis = s.redis;
  const redisRow = (label: string, v: SoakResult['redis']['baseline'] | undefined) =>
    v ? `| ${label} | ${num(v.usedMiB)} MiB | ${num(v.prefixMiB, 2)} MiB | ${num(v.eventsStreamMiB, 2)} MiB | ${Object.entries(v.finished).map(([q, n]) => `${q} ${n}`).join(', ')} |` : `| ${label} | not measured | | | |`;
  return [
    `## Soak (${s.jobs} jobs in ${num(s.wallMs / 1000, 0)} s, ${num((s.jobs / s.wallMs) * 1000)} jobs/s)`,
    '',
    ...soakRssTable(s),
    '',
    `Redis (used_memory is the whole server's, shared with anything else using it; the bench's keys are its queue prefix). Retention: ${retentionText(s)}.`,
    '',
    "| when | used_memory | bench's queue keys | generation-events stream (kept: producers' replayable history, MAXLEN ~ GENERATION_EVENTS_MAXLEN) | finished jobs kept per queue |",
    '|---|---|---|---|---|',
    redisRow('baseline (stack started)', redis.baseline),
    redisRow('end of the soak', redis.end),
    redisRow(redis.agedOut ? `after ${redis.waitedS} s (aged out)` : 'after aging out (retention too long to wait)', redis.agedOut),
    '',
    'PostgreSQL rows per job (rows added over the soak ÷ jobs):',
    '',
    '| table | rows per job |',
    '|---|---|',
    ...Object.entries(s.rowsPerJob)
      .filter(([, n]) => n !== 0)
      .map(([t, n]) => `| ${t} | ${num(n, 2)} |`),
    '',
    'Tables not listed gained no rows.',
    '',
    ...retriedLine(s.retried),
    ...useTables(s.use, 'soak'),
  ];
}
