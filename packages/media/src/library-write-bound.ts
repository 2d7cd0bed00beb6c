import { LibraryNotAnsweringError, settledWithin } from './library-not-answering';

/**
 * What a step of a library write (making its folder, writing and syncing its files, removing one) may
 * take at the least before the volume is taken as not answering: a hung NFS or FUSE mount, whose
 * calls never return. Far above a working disk's slowest fsync (seconds under heavy writeback), so a
 * slow volume still gets its files, and only one that stopped answering fails the write.
 */
export const LIBRARY_WRITE_BASE_MS = 30_000;
/** The slowest write a working library is taken to manage, as for reads (library-not-answering.ts). */
const WRITE_FLOOR_BYTES_PER_S = 1024 * 1024;

/** How long a write step of `bytes` may take: LIBRARY_WRITE_BASE_MS plus 1 ms per KiB (30 s for an image, 50 s for 20 MiB). */
export const libraryWriteTimeoutMs = (bytes: number): number => LIBRARY_WRITE_BASE_MS + Math.ceil((Math.max(0, bytes) * 1000) / WRITE_FLOOR_BYTES_PER_S);

/**
 * A write step of the library that did not answer within its bound, thrown as a file-system error
 * would be (code ETIMEDOUT, the step's syscall, the absolute path): a soft NFS mount's own ETIMEDOUT
 * looks the same, and is handled the same way. isFileSystemError (@anime/db) takes it as one, never as
 * PostgreSQL away; the gateway answers it 503 library_unavailable, a filing waits for the library
 * (isLibraryNotAnswering). The call left behind cannot be canceled: it keeps its thread (one of
 * libuv's four, or a synced-write thread) until the mount answers.
 */
export class LibraryWriteNotAnsweringError extends Error {
  readonly code = 'ETIMEDOUT';
  readonly errno = -110;

  constructor(
    readonly syscall: string,
    readonly path: string,
    readonly waitedMs: number,
    /**
     * The step left behind, settled (either way) once the volume answers it, when known: a removal
     * the kernel still carries out then, by name, whatever file is at its path by that time.
     */
    readonly leftBehind?: Promise<void>,
  ) {
    super(`ETIMEDOUT: the library volume did not answer a ${syscall} within ${(waitedMs / 1000).toFixed(1)} s (a hung mount?), ${syscall} '${path}'`);
    this.name = 'LibraryWriteNotAnsweringError';
  }
}

/**
 * Whether an error is the library not answering a file-system call: its bound ran out
 * (LibraryWriteNotAnsweringError, or a read's LibraryNotAnsweringError) or the mount gave up on it
 * itself (a soft NFS mount's ETIMEDOUT, naming its path). Not a refusal of the writes
 * (library-refusal.ts), but an outage all the same.
 */
export function isLibraryNotAnswering(error: unknown): boolean {
  if (error instanceof LibraryWriteNotAnsweringError || error instanceof LibraryNotAnsweringError) return true;
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown };
  return code === 'ETIMEDOUT' && typeof path === 'string';
}

const noop = () => undefined;

/**
 * `step`'s answer (or its failure), unless it takes longer than `ms`: then LibraryWriteNotAnsweringError
 * naming `syscall` and `path`, and the step left behind as `leftBehind`. The timer is cleared either way.
 */
export function writeAnsweredWithin<T>(step: Promise<T>, syscall: string, path: string, ms: number): Promise<T> {
  return settledWithin(step, ms, () => new LibraryWriteNotAnsweringError(syscall, path, ms, step.then(noop, noop)));
}
