import { rssMiB } from '../../../scripts/bench/process-memory';

/** A process's resident set size in bytes, read from /proc (Linux) by the bench's reader; throws when it cannot be read. */
export async function rssOf(pid: number): Promise<number> {
  const mib = await rssMiB(pid);
  if (mib === null) throw new Error(`no VmRSS for process ${pid}`);
  return mib * 1024 * 1024;
}

/** Samples a process's RSS every `everyMs` while `work` runs; returns the work's result, the RSS before and the peak. */
export async function peakRssDuring<T>(pid: number, work: () => Promise<T>, everyMs = 25): Promise<{ result: T; before: number; peak: number }> {
  const before = await rssOf(pid);
  let peak = before;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await rssOf(pid));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  try {
    const result = await work();
    return { result, before, peak };
  } finally {
    running = false;
    await sampler;
    peak = Math.max(peak, await rssOf(pid));
  }
}
