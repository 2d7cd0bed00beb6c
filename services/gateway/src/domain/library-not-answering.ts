/**
 * A read of a library file that did not answer within its bound: the volume hangs (a hung NFS or
 * FUSE mount), as a slow one would not. error-middleware.ts answers it on a write route (a bundle
 * import) as 503 `library_unavailable`, `details.reason` ETIMEDOUT: the operator fixes the mount,
 * the client tries again, and nothing was stored. The read itself, which nothing can cancel, keeps
 * its libuv thread until the file system answers.
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
