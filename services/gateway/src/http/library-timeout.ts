import { isFileSystemError } from '@anime/db';
import { LibraryNotAnsweringError } from '@anime/media';

/**
 * A library file-system call the volume did not answer in time by its own bound (ETIMEDOUT: a soft
 * NFS mount giving up on a read or a write), which reached the error middleware as it was thrown: the
 * library not answering, as LibraryNotAnsweringError is when the gateway's bound runs out first. Never
 * a database outage (isDatabaseUnavailable leaves file-system errors out).
 */
export const isLibraryTimeout = (error: unknown) => isFileSystemError(error) && (error as NodeJS.ErrnoException).code === 'ETIMEDOUT';

/** What is said of it: its own message names the absolute path on the gateway's volume. */
const LIBRARY_TIMEOUT_MESSAGE = 'the library volume did not answer in time (a network mount timed out)';

/**
 * The reason (`details.reason`) and the sentence an answer gives for a library that did not answer in
 * time: the gateway's bound ran out (LibraryNotAnsweringError, its own reason and message), or the
 * mount's did (isLibraryTimeout: ETIMEDOUT, never its message).
 */
export function libraryTimeout(error: LibraryNotAnsweringError | NodeJS.ErrnoException): { reason: string; said: string } {
  return error instanceof LibraryNotAnsweringError ? { reason: error.reason, said: error.message } : { reason: 'ETIMEDOUT', said: LIBRARY_TIMEOUT_MESSAGE };
}
