import { cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  cores: number;
  model: string;
  memoryGiB: number;
  node: string;
  /** 1-minute load average when the bench started: other work sharing the cores skews every figure. */
  load: number;
}

export function describeMachine(): Machine {
  return { cores: cpus().length, model: cpus()[0]?.model?.trim() ?? 'unknown cpu', memoryGiB: totalmem() / 2 ** 30, node: process.version, load: loadavg()[0] };
}

export const machineLine = (m: Machine) => `${m.cores} × ${m.model}, ${m.memoryGiB.toFixed(0)} GiB, Node ${m.node}, load average ${m.load.toFixed(2)} at start`;
