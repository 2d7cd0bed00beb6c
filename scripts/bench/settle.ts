import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createDb } from '@anime/db';
import { sleep } from './waits';

/** The machine counts as settled once its cores are less busy than this over one reading. */
export const SETTLED_BUSY = 0.1;
const READING_MS = 1000;

/** Jiffies the cores spent busy and in all, from the first line of /proc/stat. */
export function cpuTimesFromStat(stat: string): { busy: number; total: number } {
  const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already counted in user and nice).
  const total = fields.slice(0, 8).reduce((sum, n) => sum + n, 0);
  return { busy: total - fields[3] - fields[4], total };
}

/** How busy the machine's cores were over `ms` (0..1). */
async function machineBusy(ms: number): Promise<number> {
  const before = cpuTimesFromStat(await readFile('/proc/stat', 'utf8'));
  await sleep(ms);
  const after = cpuTimesFromStat(await readFile('/proc/stat', 'utf8'));
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}

export interface Settling {
  ms: number;
  /** How busy the cores were over the last reading (0..1). */
  busy: number;
  /** Whether PostgreSQL took the checkpoint (it needs a superuser or pg_checkpoint). */
  checkpointed: boolean;
}

/**
 * Lets a burst's aftermath pass before a latency is measured: the file system's dirty pages written
 * out, PostgreSQL's WAL checkpointed and the bench database vacuumed (else autovacuum and the
 * checkpointer do it during the measured jobs), then the cores quiet or `maxMs` gone. The services
 * stay as the burst left them: connections open, code compiled.
 */
export async function settleAfterBurst(databaseUrl: string, maxMs = 30_000): Promise<Settling> {
  const started = performance.now();
  await promisify(execFile)('sync');
  const db = createDb(databaseUrl, { max: 1 });
  let checkpointed = false;
  try {
    await db.$executeRawUnsafe('VACUUM ANALYZE');
    checkpointed = await db.$executeRawUnsafe('CHECKPOINT').then(
      () => true,
      () => false,
    );
  } finally {
    await db.$disconnect();
  }
  let busy = await machineBusy(READING_MS);
  while (busy >= SETTLED_BUSY && performance.now() - started < maxMs) busy = await machineBusy(READING_MS);
  return { ms: performance.now() - started, busy, checkpointed };
}
