/**
 * The errno codes with which a file system refuses a write for as long as an operator leaves it so:
 * full (ENOSPC), over a quota (EDQUOT), over a file-size limit (EFBIG: the process's RLIMIT_FSIZE,
 * systemd's LimitFSIZE), mounted read-only (EROFS), a folder the service may not write (EACCES,
 * EPERM), a file, a dangling link or a loop of links standing where the library keeps a folder
 * (ENOTDIR, as makeFolder reports each: the folder cannot be made until someone moves it), or a folder standing where the library keeps a
 * file (EISDIR: the rename of a written file onto it fails until someone moves it). Only a write's
 * refusal is one: a caller that reads a library file takes a failed read as the file not being
 * readable there (a missing reference), never as the library refusing writes. None is the fault of the job being written: the
 * same write succeeds once the volume is fixed, so a filing waits rather than fails, and an upload
 * is answered as an outage, not a bug.
 */
const REFUSALS: Record<string, string> = {
  ENOSPC: 'the library volume is full',
  EDQUOT: 'the library volume is over its quota',
  EFBIG: 'the file is over a file-size limit of the library or the process',
  EROFS: 'the library volume is read-only',
  EACCES: 'the library folder may not be written by this process',
  EPERM: 'the library folder may not be written by this process',
  ENOTDIR: 'a file, a dangling link or a loop of links stands where the library keeps a folder',
  EISDIR: 'a folder stands where the library keeps a file',
};

export interface LibraryRefusal {
  /** The errno code, e.g. `ENOSPC`. */
  code: string;
  /** What it means for the library, in a sentence an operator acts on. */
  reason: string;
}

/** The refusal a file-system error is, or null for any other error (a bug, a missing file). */
export function libraryRefusal(error: unknown): LibraryRefusal | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !Object.hasOwn(REFUSALS, code)) return null;
  return { code, reason: REFUSALS[code]! };
}
