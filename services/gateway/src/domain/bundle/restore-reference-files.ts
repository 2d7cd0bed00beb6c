import { readFile } from 'node:fs/promises';
import type { CharacterReference, Db } from '@anime/db';
import { UnsafeLibraryPathError, type LibraryStorage } from '@anime/media';
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
    if (!row || outsideLibrary(deps.storage, row.path)) continue;
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

/** The file at the row's path has its recorded size (a stat), then its sha256 (read only at that size). */
async function isIntact(storage: LibraryStorage, row: CharacterReference): Promise<boolean> {
  if (await isReferenceFileLost(storage, row)) return false;
  return (await storage.sha256(row.path).catch(() => null)) === row.sha256;
}

function outsideLibrary(storage: LibraryStorage, relativePath: string): boolean {
  try {
    storage.locate(relativePath);
    return false;
  } catch (error) {
    if (error instanceof UnsafeLibraryPathError) return true;
    throw error;
  }
}
