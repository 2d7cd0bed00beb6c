import { createHash } from 'node:crypto';

/** What the yardstick workload cost once: CPU and wall time, in ms. */
export interface YardstickRun {
  cpuMs: number;
  wallMs: number;
}

/** The machine's own speed when the bench started and when it ended, read by the same workload. */
export interface MachineSpeed {
  start: YardstickRun;
  end: YardstickRun;
}

const HASHED_BYTES = 8 * 2 ** 20;
const OBJECTS = 20_000;
/** Made on the first measurement, not when the report's code is loaded. */
let hashed: Buffer | undefined;

/**
 * A fixed single-thread workload of the kinds the services do (integer arithmetic, hashing,
 * JSON): it does the same work on every run, so its time tells how fast this machine's cores are.
 * It tells one machine from another (sessions have run on VMs twice as fast as others); it does not
 * explain the drift within one machine: eight throughput runs of the same services (four alternating
 * pairs, only the simulators changed) gave 96.9–122.5 jobs/s while it held at 313–327 ms, so that
 * drift lies in what the processes sharing the two cores cost each other, and changes are measured
 * in alternating runs.
 */
function yardstickWork(scale: number): number {
  let x = 1;
  for (let i = 0; i < 30_000_000 * scale; i++) x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  hashed ??= Buffer.alloc(HASHED_BYTES, 7);
  const digest = createHash('sha256').update(hashed.subarray(0, Math.ceil(HASHED_BYTES * scale))).digest();
  const text = JSON.stringify(Array.from({ length: Math.ceil(OBJECTS * scale) }, (_, i) => ({ i, name: `item ${i}`, x })));
  return (JSON.parse(text) as unknown[]).length + digest[0];
}

function runOnce(scale: number): YardstickRun {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  yardstickWork(scale);
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall };
}

/** The median of `rounds` runs of the yardstick, after one that warms it up (`scale` < 1: a part of it, for tests). */
export function measureYardstick(rounds = 3, scale = 1): YardstickRun {
  runOnce(scale);
  const runs = Array.from({ length: rounds }, () => runOnce(scale)).sort((a, b) => a.cpuMs - b.cpuMs);
  return runs[Math.floor(runs.length / 2)];
}

export const machineSpeedLine = ({ start, end }: MachineSpeed) =>
  `Machine speed: a fixed single-thread workload (integer arithmetic, a sha256 of 8 MiB, JSON of ${OBJECTS.toLocaleString('en-US')} objects; scripts/bench/machine-speed.ts) took ${start.cpuMs.toFixed(0)} ms of CPU before the first stack and ${end.cpuMs.toFixed(0)} ms after the last (lower is faster): the speed of the cores themselves, which tells one machine from another. Runs of the same code on one machine have differed by a quarter while this held within 5 %, so a change is judged by alternating runs, not by this.`;
