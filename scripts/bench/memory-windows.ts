import type { AppService } from '@anime/stack';
import { rssMiB } from './process-memory';

/** One reading of a service's RSS (MiB, null when unreadable) and how many soak jobs had completed by then. */
export interface RssSample {
  done: number;
  rss: number | null;
}

/** RSS over a window of the soak: its median (the figure compared), range, and how many readings made it. */
export interface RssWindow {
  median: number | null;
  min: number | null;
  max: number | null;
  samples: number;
}

/**
 * The readings taken while `from` to `to` jobs (inclusive) had completed. Under load the V8 heap
 * grows between major collections and shrinks at each, so a single reading lands anywhere on that
 * sawtooth (tens of MiB apart): the median over a window spanning a cycle or more compares like with
 * like, and a real growth moves the whole window, hence its median, all the same.
 */
export function rssWindow(samples: readonly RssSample[], from: number, to: number): RssWindow {
  const values = samples
    .filter((s) => s.done >= from && s.done <= to && s.rss !== null)
    .map((s) => s.rss as number)
    .sort((a, b) => a - b);
  if (!values.length) return { median: null, min: null, max: null, samples: 0 };
  const mid = values.length >> 1;
  const median = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return { median, min: values[0], max: values[values.length - 1], samples: values.length };
}

type ServiceProcess = { name: AppService; pid: number | undefined };

/** Every service's RSS now (MiB, from /proc; null where unreadable). */
export async function servicesRss(services: readonly ServiceProcess[]): Promise<Record<AppService, number | null>> {
  return Object.fromEntries(await Promise.all(services.map(async (s) => [s.name, await rssMiB(s.pid)] as const))) as Record<AppService, number | null>;
}

/** Reads every service's RSS from /proc each `everyMs` (nothing asked of the services themselves) until stopped. */
export function sampleRss(services: readonly ServiceProcess[], everyMs: number, done: () => number) {
  const samples = Object.fromEntries(services.map((s) => [s.name, [] as RssSample[]])) as Record<AppService, RssSample[]>;
  const read = () => servicesRss(services);
  const keep = (at: number, rss: Record<AppService, number | null>) => {
    for (const s of services) samples[s.name].push({ done: at, rss: rss[s.name] });
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const at = done();
    const rss = await read();
    if (stopped) return;
    keep(at, rss);
    timer = setTimeout(() => void tick(), everyMs);
  };
  timer = setTimeout(() => void tick(), everyMs);
  return {
    /** Takes a reading now (e.g. at a window's edge), besides the periodic ones, even once stopped; returns it. */
    add: async (at: number): Promise<Record<AppService, number | null>> => {
      const rss = await read();
      keep(at, rss);
      return rss;
    },
    /** Ends the periodic readings; the readings so far, per service. */
    stop: (): Record<AppService, RssSample[]> => {
      stopped = true;
      clearTimeout(timer);
      return samples;
    },
  };
}
