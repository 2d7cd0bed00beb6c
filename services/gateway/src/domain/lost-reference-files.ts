import type { CharacterReference, Db } from '@anime/db';
import type { LibraryStorage } from '@anime/media';
import { recordReferenceFileMissing } from '@anime/pipeline';

/**
 * Whether a reference's file is lost, at the cost of one stat: nothing (or no file) at its path, or
 * a file of another size than recorded, was deleted or altered. A file of the right size is taken as
 * present; only reading it tells a same-size alteration, which the orchestrator does before every job
 * and a bundle export before packing it. A stat that fails otherwise (permissions, I/O, a path
 * outside the library) says nothing of the file: not lost.
 */
export async function isReferenceFileLost(storage: LibraryStorage, reference: CharacterReference): Promise<boolean> {
  try {
    const now = await storage.version(reference.path);
    return now === null || now.bytes !== reference.bytes;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}

/**
 * The references as the library holds them now: one not yet marked missing whose file is lost
 * (isReferenceFileLost) is recorded missing and returned so. One stat per reference, all at once: a
 * character has at most CHARACTER_LIMITS.attachedReferences (50) attached. A mark is cleared only where the bytes are read (an upload of
 * the same image, the orchestrator staging it), never by a stat.
 */
export async function noticeLostReferenceFiles(deps: { db: Db; storage: LibraryStorage }, references: CharacterReference[]): Promise<CharacterReference[]> {
  return Promise.all(
    references.map(async (reference) => {
      if (reference.missing || !(await isReferenceFileLost(deps.storage, reference))) return reference;
      await recordReferenceFileMissing(deps.db, reference);
      return { ...reference, missing: true };
    }),
  );
}
