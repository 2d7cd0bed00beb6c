import type { BenchStack } from './bench-stack';
import { cpuMs } from './process-memory';
import { deltaPer, percentile } from './stats';
import { sleep } from './waits';

/** How long the throughput stack is left alone after it is ready, before its idle CPU is read. */
export const SETTLE_SECONDS = 10;
/** The idle CPU is read over this many windows of IDLE_WINDOW_SECONDS each, before the backlog is submitted. */
export const IDLE_WINDOWS = 6;
export const IDLE_WINDOW_SECONDS = 5;

/** CPU a process spent per second of wall time while the stack had no work; null where /proc could not be read. */
export interface IdleCpu {
  process: string;
  /** The median window: what the process costs sitting idle. */
  msPerSecond: number | null;
  /** The busiest window: a one-off such as V8's memory reducer collecting the start-up heap lands here. */
  peakMsPerSecond: number | null;
}

/**
 * A process's idle CPU from its CPU time read at the start and the end of each window (one more
 * reading than windows): the median window and the busiest. A service does one-off work in its
 * first half minute (V8's memory reducer collects the start-up heap about 8 s after allocation
 * slows: 40–56 ms/s in one 5-s window, 2–4 ms/s in the others), which a single window either
 * catches or misses; the median leaves it out, the peak shows it. Null where a reading is unknown.
 */
export function idleFromReadings(process: string, readings: (number | null)[], windowSeconds: number): IdleCpu {
  const rates: number[] = [];
  for (let i = 1; i < readings.length; i++) {
    const rate = deltaPer(readings[i - 1], readings[i], windowSeconds);
    if (rate === null) return { process, msPerSecond: null, peakMsPerSecond: null };
    rates.push(rate);
  }
  if (!rates.length) return { process, msPerSecond: null, peakMsPerSecond: null };
  return { process, msPerSecond: percentile(rates, 50), peakMsPerSecond: Math.max(...rates) };
}

/**
 * Each service's and simulator's CPU while nothing is queued: what a stack costs sitting idle
 * (probes, timers, metrics sampling, garbage collection), and how much of a low-rate run's CPU per
 * job is that rather than the jobs.
 */
export async function measureIdleCpu(bench: BenchStack): Promise<IdleCpu[]> {
  await sleep(SETTLE_SECONDS * 1000);
  const processes = [
    ...bench.services.map((s) => ({ process: s.name, pid: s.pid })),
    ...bench.simulators.map((s, i) => ({ process: `simulator ${i + 1}`, pid: s.process.pid })),
  ];
  const readings: (number | null)[][] = processes.map(() => []);
  const read = async () => (await Promise.all(processes.map((p) => cpuMs(p.pid)))).forEach((ms, i) => readings[i].push(ms));
  await read();
  const started = performance.now();
  for (let w = 0; w < IDLE_WINDOWS; w++) {
    await sleep(IDLE_WINDOW_SECONDS * 1000);
    await read();
  }
  // The windows last IDLE_WINDOW_SECONDS give or take a timer's lateness: each is divided by their average length.
  const windowSeconds = (performance.now() - started) / 1000 / IDLE_WINDOWS;
  return processes.map((p, i) => idleFromReadings(p.process, readings[i], windowSeconds));
}
