import { readFile } from 'node:fs/promises';
import type { CharacterReference, Db } from '@anime/db';
import { answeredWithin, isOutsideLibrary, libraryReadTimeoutMs, type LibraryStorage } from '@anime/media';
import { recordReferenceFileFound } from '@anime/pipeline';
import { isReferenceFileLost } from '../lost-reference-files';
import type { ParsedReference } from './parse-bundle';

/**
 * For references the target character already has (matched by sha256): writes the bundle's bytes
 * back, atomically through the library storage, at the path the row records, when the file there is
 * gone or no longer has its sha256, and clears the row's missing mark, the file now holding its
 * bytes, as a re-upload of the image or the legacy import's restore does. A file already intact is
 * left alone (a mark on it is cleared too: it was just read back with its sha256). The bundle's
 * bytes were hashed when it was read, so only the recorded bytes are ever written. Returns how many
 * files were written back.
 */
export async function restoreReferenceFiles(deps: { db: Db; storage: LibraryStorage }, rows: CharacterReference[], references: ParsedReference[]): Promise<number> {
  const bySha = new Map(rows.map((row) => [row.sha256, row]));
  let restored = 0;
  for (const reference of references) {
    const row = bySha.get(reference.meta.sha256);
    // A row recording a path outside the library (a legacy one; its file route answers 409
    // reference_path_invalid) is left alone: nothing is written there, and its mark stays.
    if (!row || isOutsideLibrary(deps.storage, row.path)) continue;
    if (!(await isIntact(deps.storage, row))) {
      // One image in memory at a time, at most REFERENCE_MAX_BYTES: the bundle's own limit per entry.
      await deps.storage.write(row.path, await readFile(reference.path));
      restored += 1;
    }
    // Cleared whatever the row said when read: a look that found the file gone may have marked it since.
    await recordReferenceFileFound(deps.db, row);
  }
  return restored;
}

/**
 * How long the hash of a reference file of `bytes` may take before the library is taken as not
 * answering (libraryReadTimeoutMs: 5 s plus 1 ms per KiB, 25 s at REFERENCE_MAX_BYTES' default of
 * 20 MiB). Generous on purpose: a slow volume still gets its files checked, and only one that
 * stopped answering fails the import.
 */
export const referenceHashTimeoutMs = libraryReadTimeoutMs;

/**
 * The file at the row's path has its recorded size (a stat, bounded by isReferenceFileLost), then its
 * sha256. The hash reads the file whole: bounded by referenceHashTimeoutMs of the recorded size (a
 * stat that got no answer says nothing of the size), past which LibraryNotAnsweringError fails the
 * import (503, the import not recorded) rather than waiting on a hung mount for good; a read that fails
 * otherwise is a file not intact, written back.
 */
async function isIntact(storage: LibraryStorage, row: CharacterReference): Promise<boolean> {
  if (await isReferenceFileLost(storage, row)) return false;
  return (await answeredWithin(storage.sha256(row.path).catch(() => null), row.path, referenceHashTimeoutMs(row.bytes))) === row.sha256;
}
