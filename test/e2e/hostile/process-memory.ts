import { readFile } from 'node:fs/promises';

/** A process's resident set size in bytes, read from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kib) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib[1]) * 1024;
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
