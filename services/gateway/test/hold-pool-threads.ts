import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';

/**
 * Holds every libuv pool thread, as a hung mount holds each call made of it, until the returned
 * release is called: each thread blocked in the kernel opening a FIFO (made in `fifoDir`) for reading.
 * Any fs call made meanwhile (a stat, a read) waits behind them and does not settle.
 */
export async function holdEveryPoolThread(fifoDir: string): Promise<() => Promise<void>> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: threads }, (_, i) => path.join(fifoDir, `hold-${i}-${Date.now()}`));
  for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
  const readers = fifos.map((fifo) => open(fifo, 'r'));
  // Opened from the main thread (not the pool, which is held): it succeeds once a reader waits.
  const openWriter = async (fifo: string) => {
    for (;;) {
      try {
        return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  // A writer would free its reader: only wait until the pool is seen held.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return async () => {
    const writers: number[] = [];
    for (const fifo of fifos) writers.push(await openWriter(fifo));
    for (const reader of await Promise.all(readers)) await reader.close();
    for (const fd of writers) closeSync(fd);
  };
}
