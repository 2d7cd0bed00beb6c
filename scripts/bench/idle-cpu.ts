import type { BenchStack } from './bench-stack';
import { cpuMs } from './process-memory';
import { deltaPer } from './stats';
import { sleep } from './waits';

/** How long the throughput stack is watched idle before its backlog is submitted. */
export const IDLE_SECONDS = 10;
/** How long it is left alone first: for ~10 s after /readyz answers, a service still compiles and collects its start (~100 ms/s). */
export const SETTLE_SECONDS = 15;

/** CPU a process spent per second of wall time while the stack had no work; null where /proc could not be read. */
export interface IdleCpu {
  process: string;
  msPerSecond: number | null;
}

/**
 * Each service's and simulator's CPU while nothing is queued, over `seconds`: what a stack costs
 * sitting idle (probes, timers, metrics sampling, garbage collection), and how much of a low-rate
 * run's CPU per job is that rather than the jobs.
 */
export async function measureIdleCpu(bench: BenchStack, seconds: number): Promise<IdleCpu[]> {
  await sleep(SETTLE_SECONDS * 1000);
  const processes = [
    ...bench.services.map((s) => ({ process: s.name, pid: s.pid })),
    ...bench.simulators.map((s, i) => ({ process: `simulator ${i + 1}`, pid: s.process.pid })),
  ];
  const before = await Promise.all(processes.map((p) => cpuMs(p.pid)));
  const started = performance.now();
  await sleep(seconds * 1000);
  const after = await Promise.all(processes.map((p) => cpuMs(p.pid)));
  const wallS = (performance.now() - started) / 1000;
  return processes.map((p, i) => ({ process: p.process, msPerSecond: deltaPer(before[i], after[i], wallS) }));
}
