import type { AppService } from '@anime/stack';
import { rssMiB } from './process-memory';
import type { HeapReading } from './service-metrics';

/** One reading of a service and how many soak jobs had completed by then. */
export interface Sample<T> {
  done: number;
  value: T;
}

/** A reading of a service's memory in MiB, null when unreadable. */
export type MemorySample = Sample<number | null>;

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
    .filter((s) => s.done >= from && s.done <= to && s.value !== null)
    .map((s) => s.value as number)
    .sort((a, b) => a - b);
  if (!values.length) return { median: null, min: null, max: null, samples: 0 };
  const mid = values.length >> 1;
  const median = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return { median, min: values[0], max: values[values.length - 1], samples: values.length };
}

type ServiceProcess = { name: AppService; pid: number | undefined };
type Reading<T> = Record<AppService, T>;

/** `read` of every service at once, by its name. */
export async function readEachService<S extends { name: AppService }, T>(services: readonly S[], read: (service: S) => Promise<T>): Promise<Reading<T>> {
  return Object.fromEntries(await Promise.all(services.map(async (s) => [s.name, await read(s)] as const))) as Reading<T>;
}

/** Every service's RSS now (MiB, from /proc; null where unreadable). */
export function servicesRss(services: readonly ServiceProcess[]): Promise<Reading<number | null>> {
  return readEachService(services, (s) => rssMiB(s.pid));
}

/** Takes `read()` of every service each `everyMs` until stopped, each reading tagged with the jobs `done()` by then. */
export function sampleEvery<T>(services: readonly AppService[], everyMs: number, done: () => number, read: () => Promise<Reading<T>>) {
  const samples = Object.fromEntries(services.map((s) => [s, [] as Sample<T>[]])) as Record<AppService, Sample<T>[]>;
  const keep = (at: number, reading: Reading<T>) => {
    for (const s of services) samples[s].push({ done: at, value: reading[s] });
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
    add: async (at: number): Promise<Reading<T>> => {
      const reading = await read();
      keep(at, reading);
      return reading;
    },
    /** Ends the periodic readings; the readings so far, per service. */
    stop: (): Record<AppService, Sample<T>[]> => {
      stopped = true;
      clearTimeout(timer);
      return samples;
    },
  };
}

/** Reads every service's RSS from /proc each `everyMs` (nothing asked of the services themselves) until stopped. */
export function sampleRss(services: readonly ServiceProcess[], everyMs: number, done: () => number) {
  return sampleEvery(
    services.map((s) => s.name),
    everyMs,
    done,
    () => servicesRss(services),
  );
}

/** The heap kept after major collections over a window, and how many major collections ran between its first and last reading. */
export interface HeapWindow extends MemoryWindow {
  /** 0: every reading of the window is the one a collection left before it. Null when the counts were unread. */
  collections: number | null;
}

export function heapWindow(samples: readonly Sample<HeapReading>[], from: number, to: number): HeapWindow {
  const counts = samples.filter((s) => s.done >= from && s.done <= to && s.value.majorCollections !== null).map((s) => s.value.majorCollections as number);
  const heap = memoryWindow(samples.map((s) => ({ done: s.done, value: s.value.mib })), from, to);
  return { ...heap, collections: counts.length ? Math.max(...counts) - Math.min(...counts) : null };
}

/** The heap V8 held (reserved) over a window: the medians of its readings, whatever the collections. */
export function committedHeapWindow(samples: readonly Sample<HeapReading>[], from: number, to: number): MemoryWindow {
  return memoryWindow(
    samples.map((s) => ({ done: s.done, value: s.value.committedMib ?? null })),
    from,
    to,
  );
}
