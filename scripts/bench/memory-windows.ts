import type { AppService } from '@anime/stack';
import { rssMiB } from './process-memory';

/** One reading of a service's memory (MiB, null when unreadable) and how many soak jobs had completed by then. */
export interface MemorySample {
  done: number;
  mib: number | null;
}

/** Memory over a window of the soak: its median (the figure compared), range, and how many readings made it. */
export interface MemoryWindow {
  median: number | null;
  min: number | null;
  max: number | null;
  samples: number;
}

/**
 * The readings taken while `from` to `to` jobs (inclusive) had completed. Under load the V8 heap
 * grows between major collections and shrinks at each, so a single RSS reading lands anywhere on that
 * sawtooth (tens of MiB apart): the median over a window spanning a cycle or more compares like with
 * like, and a real growth moves the whole window, hence its median, all the same.
 */
export function memoryWindow(samples: readonly MemorySample[], from: number, to: number): MemoryWindow {
  const values = samples
    .filter((s) => s.done >= from && s.done <= to && s.mib !== null)
    .map((s) => s.mib as number)
    .sort((a, b) => a - b);
  if (!values.length) return { median: null, min: null, max: null, samples: 0 };
  const mid = values.length >> 1;
  const median = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return { median, min: values[0], max: values[values.length - 1], samples: values.length };
}

type ServiceProcess = { name: AppService; pid: number | undefined };
type Reading = Record<AppService, number | null>;

/** Every service's RSS now (MiB, from /proc; null where unreadable). */
export async function servicesRss(services: readonly ServiceProcess[]): Promise<Reading> {
  return Object.fromEntries(await Promise.all(services.map(async (s) => [s.name, await rssMiB(s.pid)] as const))) as Reading;
}

/** Takes `read()` of every service each `everyMs` until stopped, each reading tagged with the jobs `done()` by then. */
export function sampleMemory(services: readonly AppService[], everyMs: number, done: () => number, read: () => Promise<Reading>) {
  const samples = Object.fromEntries(services.map((s) => [s, [] as MemorySample[]])) as Record<AppService, MemorySample[]>;
  const keep = (at: number, reading: Reading) => {
    for (const s of services) samples[s].push({ done: at, mib: reading[s] });
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const at = done();
    const reading = await read();
    if (stopped) return;
    keep(at, reading);
    timer = setTimeout(() => void tick(), everyMs);
  };
  timer = setTimeout(() => void tick(), everyMs);
  return {
    /** Takes a reading now (e.g. at a window's edge), besides the periodic ones, even once stopped; returns it. */
    add: async (at: number): Promise<Reading> => {
      const reading = await read();
      keep(at, reading);
      return reading;
    },
    /** Ends the periodic readings; the readings so far, per service. */
    stop: (): Record<AppService, MemorySample[]> => {
      stopped = true;
      clearTimeout(timer);
      return samples;
    },
  };
}

/** Reads every service's RSS from /proc each `everyMs` (nothing asked of the services themselves) until stopped. */
export function sampleRss(services: readonly ServiceProcess[], everyMs: number, done: () => number) {
  return sampleMemory(
    services.map((s) => s.name),
    everyMs,
    done,
    () => servicesRss(services),
  );
}
