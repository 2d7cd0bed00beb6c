/**
 * The errno codes with which a file system refuses to READ a library file that is (or may be)
 * there: the gateway may not read it (EACCES, EPERM: its mode, its owner, a security policy), the
 * volume fails to (EIO), a loop of links stands at its path (ELOOP), or the volume did not answer
 * the read in time (ETIMEDOUT: a soft network mount giving up, as the gateway's own bound does when a
 * hung mount never answers, LibraryNotAnsweringError, answered the same). None says the image is gone
 * (the file may be fine and the permission wrong): a download answers 503 `library_unreadable`,
 * an outage an operator fixes, and nothing is marked missing.
 */
const UNREADABLE: Record<string, string> = {
  EACCES: 'the gateway may not read the file (its permissions or a security policy)',
  EPERM: 'the gateway may not read the file (its permissions or a security policy)',
  EIO: 'the library volume fails to read the file (an I/O error)',
  ELOOP: 'a loop of symbolic links stands at the file’s path',
  ETIMEDOUT: 'the library volume did not answer the read in time (a network mount timed out)',
};

/** A library file a download could not read; error-middleware.ts answers it 503 `library_unreadable`. */
export class LibraryFileUnreadableError extends Error {
  constructor(
    /** What the file is, e.g. `the file of asset <id>`. */
    readonly what: string,
    /** The errno code, e.g. `EACCES`. */
    readonly reason: string,
  ) {
    super(`${what} cannot be read from the library: ${UNREADABLE[reason]} (${reason}); it is not marked missing; try again once it is fixed`);
    this.name = 'LibraryFileUnreadableError';
  }
}

/** The refusal a failed read of a library file is, or null for any other error. */
export function libraryFileUnreadable(error: unknown, what: string): LibraryFileUnreadableError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !Object.hasOwn(UNREADABLE, code)) return null;
  return new LibraryFileUnreadableError(what, code);
}
