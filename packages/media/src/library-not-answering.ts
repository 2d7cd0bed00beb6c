/**
 * A read of a library file that did not answer within its bound: the volume hangs (a hung NFS or
 * FUSE mount), as a slow one would not. The gateway answers it 503 with `details.reason` ETIMEDOUT:
 * `library_unavailable` on a write route (an upload, a bundle import: nothing was stored),
 * `library_unreadable` on a download (nothing is marked missing). The operator fixes the mount, the
 * client tries again. The read itself, which nothing can cancel, keeps its libuv thread until the
 * file system answers.
 */
export class LibraryNotAnsweringError extends Error {
  /** Not an errno the file system gave: the bound ran out (library-refusal.ts does not know it). */
  readonly reason = 'ETIMEDOUT';

  constructor(
    readonly relativePath: string,
    readonly waitedMs: number,
  ) {
    super(`the library volume did not answer a read of ${relativePath} within ${(waitedMs / 1000).toFixed(1)} s (a hung mount?)`);
    this.name = 'LibraryNotAnsweringError';
  }
}

/** What a read of a library file may take at the least: an open and a first read on a cold or spun-down disk, behind other work on libuv's 4 threads. */
export const LIBRARY_READ_BASE_MS = 5_000;
/** The slowest read a working library is taken to manage: far below any disk or network mount that answers (a degraded NFS mount over 100 Mbit/s reads ~10 MiB/s). */
const READ_FLOOR_BYTES_PER_S = 1024 * 1024;

/**
 * How long a whole read (a hash) of a library file of `bytes` may take before the library is taken
 * as not answering: LIBRARY_READ_BASE_MS plus 1 ms per KiB (5 s for a small image, 25 s for a 20 MiB
 * one). Generous on purpose: a slow volume still gets its files read, only one that stopped
 * answering fails the request.
 */
export const libraryReadTimeoutMs = (bytes: number): number => LIBRARY_READ_BASE_MS + Math.ceil((Math.max(0, bytes) * 1000) / READ_FLOOR_BYTES_PER_S);

/**
 * `read`'s answer (or its failure), unless it takes longer than `ms`: then LibraryNotAnsweringError
 * naming `relativePath`. The timer is cleared either way; a read left behind settles unobserved.
 */
export function answeredWithin<T>(read: Promise<T>, relativePath: string, ms: number): Promise<T> {
  return settledWithin(read, ms, () => new LibraryNotAnsweringError(relativePath, ms));
}

/**
 * `step`'s answer (or its failure), unless it takes longer than `ms`: then the error `late` makes. The
 * timer is cleared either way; a step left behind settles unobserved. The bound of both library
 * reads (answeredWithin) and writes (writeAnsweredWithin).
 */
export async function settledWithin<T>(step: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([step, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
